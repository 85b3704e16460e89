// Types for the parsers in h2load.mjs (see frames.d.mts for why this file exists).
export function parseH2loadOutput(text: string): {
  seconds: number; rps: number; requests: number; succeeded: number; failed: number; errored: number; timeout: number; status2xx: number;
};
export function parseH2loadLog(text: string): number[];
export function parseH2loadRequests(text: string): { startMs: number; us: number }[];
