// Types for drive() in h2client.mjs (see frames.d.mts for why this file exists).
export interface FrameSource { next(): Buffer; distinct: number; freshUsed(): number }
export function drive(o: {
  port: number; urlPath: string; conns: number; streams: number; limitReq: number; durationMs: number;
  settleMs?: number; settle?: () => Promise<void>; record: boolean; src: FrameSource;
}): Promise<{
  driver: 'h2client'; seconds: number; rps: number; requests: number; served: number; settledAnswers: number; errors: number;
  windowMs: [number, number];
  errorReasons: Record<string, number>; latencyUs: ({ samples: number } & Record<string, number>) | undefined;
}>;
