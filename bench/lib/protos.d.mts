// Types for protos.mjs (see frames.d.mts for why this file exists).
import type { ProtoTypes } from './frames.mjs';
export const REPO: string;
export const AUTH_PROTO: string;
export const CHECK_PATH: string;
export function protoSource(choice?: string): { name: 'project' | 'envoy'; includeDirs: string[] };
export function loadPackageDefinition(choice?: string): unknown;
export function loadTypes(choice?: string): ProtoTypes;
