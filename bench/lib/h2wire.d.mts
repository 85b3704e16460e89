// Types for h2wire.mjs (see frames.d.mts for why this file exists).
export interface HpackString { huffman: boolean; bytes: Buffer }
export function hpackInt(value: number, prefixBits: number, firstByteFlags: number): number[];
export function grpcRequestBlocks(authority: string, path: string): { literal: Buffer; first: Buffer; indexed: Buffer; tableBytes: number };
export function walkHeaderBlock(block: Buffer, visit: (index: number, name?: HpackString, value?: HpackString) => void): void;
export function readResponseBlock(block: Buffer, grpcStatusName?: HpackString): { status200: boolean; grpcStatus?: number };
