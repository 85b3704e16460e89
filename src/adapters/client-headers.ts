/**
 * Client-sent `x-ascend-*` headers are never trusted (DESIGN.md "Response headers"): the HTTP
 * adapters drop them before a request is evaluated, so no route, identity source or policy
 * can ever read one, and they name them so a gateway can strip them from the upstream request.
 */
import type { HeaderInput } from '../gateway/request.js';

const PREFIX = 'x-ascend-';

export function isAscendHeader(name: string): boolean {
  return name.length > PREFIX.length && name.slice(0, PREFIX.length).toLowerCase() === PREFIX;
}

/** The lower-cased names of the client-sent `x-ascend-*` headers. */
export function ascendHeaderNames(headers: HeaderInput): string[] {
  const out: string[] = [];
  for (const name in headers) if (isAscendHeader(name)) out.push(name.toLowerCase());
  return out;
}

/** `headers` without `x-ascend-*` (the same object when there are none, the common case). */
export function withoutAscendHeaders(headers: HeaderInput): HeaderInput {
  let out: HeaderInput | undefined;
  for (const name in headers) {
    if (!isAscendHeader(name)) continue;
    out ??= { ...headers };
    delete out[name];
  }
  return out ?? headers;
}
