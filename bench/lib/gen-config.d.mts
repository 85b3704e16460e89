// Types for gen-config.mjs (see frames.d.mts for why this file exists).
export interface GenOptions {
  policies?: number; routes?: number; cache?: 'on' | 'disabled' | 'ttl0'; ttlMs?: number; maxEntries?: number;
  base?: Record<string, unknown>;
}
export const CORE_CONFIG: string;
export function generateConfig(opts?: GenOptions): any;
export function generateConfigYaml(opts?: GenOptions): string;
