// Types for measure.mjs (see frames.d.mts for why this file exists).
export type Load = ((durationS: number, latency: boolean, settleS?: number) => Promise<Record<string, unknown> & { served?: number }>) & { settles?: boolean };
export function measure<B>(o: {
  pid?: number; load: Load; warmS: number; settleS?: number; durationS: number;
  before?: () => Promise<B>; after?: (before: B) => Promise<Record<string, unknown>>;
}): Promise<Record<string, unknown> & { served?: number; cpuUsPerReq: number; rssMiB: number }>;
