// Types for the parser in gc-trace.mjs (see frames.d.mts for why this file exists).
export function gcSummary(text: string): {
  scavenges: { n: number; max: number }; full: { n: number; max: number }; promoted: number;
};
