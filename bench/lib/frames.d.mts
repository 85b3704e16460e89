// Types for the pure parts of frames.mjs that test/bench-harness.test.ts uses (the harness
// itself is plain ESM; this file only keeps `npm run typecheck` strict).
export interface ProtoTypes { source: string; CheckRequest: unknown; CheckResponse: unknown }
export interface CheckRequestInput {
  method: string; path: string; host?: string; headers?: Record<string, string>; id?: string;
}
export interface FreshTemplate { frame: Buffer; offsets: number[]; digits: number }
export function frame(message: Uint8Array): Buffer;
export function splitFrames(buf: Buffer): Buffer[];
export function unframe(buf: Buffer): Buffer;
export function checkRequest(input: CheckRequestInput): Record<string, unknown>;
export function refund(id?: string, amount?: number): Record<string, unknown>;
export function adminDeny(): Record<string, unknown>;
export function encodeFrame(obj: Record<string, unknown>, types?: ProtoTypes): Buffer;
export function decodeFrame(buf: Buffer, types?: ProtoTypes): any;
export function mixFrames(n?: number, types?: ProtoTypes): Buffer[];
export function freshTemplate(types?: ProtoTypes): FreshTemplate;
export function patchFresh(tpl: FreshTemplate, n: number, out?: Buffer): Buffer;
export function writeFramePack(file: string, frames: Buffer[]): void;
export function readFramePack(file: string): Buffer[];
