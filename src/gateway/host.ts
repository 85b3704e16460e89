import { RequestError } from '../core/errors.js';
import { lastAnswer } from '../shared/last-answer.js';

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/**
 * Canonical host: lower-cased, trailing dots removed, the scheme's default port dropped
 * (both 80 and 443 when the scheme is unknown). `Example.COM.:443` → `example.com`.
 * Istio CVE-2021-39155 came from matching hosts case-sensitively.
 */
export function canonicalHost(raw: string, scheme: string | undefined): string {
  if (raw === '') return '';
  return canonicalized(raw, scheme);
}

/** canonicalize() with its last answer kept (shared/last-answer.ts). */
const canonicalized = lastAnswer(canonicalize);

function canonicalize(raw: string, scheme: string | undefined): string {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x2f || c === 0x5c || c === 0x40) {
      throw new RequestError('invalid_host', 'host contains a character that is not allowed');
    }
  }
  let host = raw.toLowerCase();
  let port = '';
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    if (close === -1) throw new RequestError('invalid_host', 'unterminated IPv6 literal in host');
    if (host.length > close + 1) {
      if (host.charCodeAt(close + 1) !== 0x3a) throw new RequestError('invalid_host', 'junk after IPv6 literal');
      port = host.slice(close + 2);
    }
    host = host.slice(0, close + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) {
      port = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
  }
  if (port !== '' && !/^[0-9]{1,5}$/.test(port)) throw new RequestError('invalid_host', 'invalid port in host');
  while (host.endsWith('.')) host = host.slice(0, -1);
  const def = scheme === undefined || scheme === '' ? undefined : DEFAULT_PORTS[scheme.toLowerCase()];
  const isDefault = def === undefined ? port === '80' || port === '443' : port === def;
  return port === '' || isDefault ? host : `${host}:${port}`;
}
