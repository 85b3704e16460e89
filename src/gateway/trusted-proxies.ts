/**
 * Which TCP peers may describe someone else's request (X-Original-*, X-Forwarded-*): a CIDR
 * allow-list (gateway/cidr.ts parses it).
 */
import type { IssueList } from '../config/errors.js';
import { inRanges, parseAddress, parseRange, type Range } from './cidr.js';

export { parseAddress } from './cidr.js';

export type TrustedProxies = (address: string | undefined) => boolean;

/** Compiles `forward_auth.trusted_proxies`; a bad entry is reported with its field path. */
export function compileTrustedProxies(list: readonly string[], issues: IssueList, at: readonly (string | number)[]): TrustedProxies {
  const ranges: Range[] = [];
  list.forEach((s, i) => {
    const r = parseRange(s);
    if (r) ranges.push(r);
    else issues.add([...at, i], `"${s}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, ::1/128)`);
  });
  if (ranges.length === 0) return () => false;
  const trusted = (address: string): boolean => {
    const ip = parseAddress(address);
    if (!ip) return false;
    return inRanges(ip, ranges);
  };
  // A gateway talks from a handful of addresses: parsing each request's peer with ipaddr.js
  // was ~2.5 % of a forward-auth check's CPU. The verdict per address string is remembered,
  // in a map that starts over when it reaches VERDICTS_MAX, so no peer can grow it.
  const verdicts = new Map<string, boolean>();
  return (address) => {
    if (address === undefined) return false;
    let v = verdicts.get(address);
    if (v === undefined) {
      if (verdicts.size >= VERDICTS_MAX) verdicts.clear();
      verdicts.set(address, (v = trusted(address)));
    }
    return v;
  };
}

const VERDICTS_MAX = 1024;
