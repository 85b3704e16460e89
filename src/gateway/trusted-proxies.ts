/**
 * Which TCP peers may describe someone else's request (X-Original-*, X-Forwarded-*): a CIDR
 * allow-list. Parsing uses ipaddr.js (the library behind fastify's and express's trustProxy,
 * already in the tree through fastify) rather than a hand-written parser: IPv6 has many
 * spellings (`::1`, `0:0::1`, zone ids, embedded IPv4) and Node reports IPv4 peers of a
 * dual-stack socket as IPv4-mapped IPv6 (`::ffff:127.0.0.1`), which `process()` folds back
 * to IPv4 so `127.0.0.1/8` matches them.
 */
import ipaddr from 'ipaddr.js';
import type { IssueList } from '../config/errors.js';

export type TrustedProxies = (address: string | undefined) => boolean;

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses one address: IPv4 only in dotted-quad form (no `0x7f.1` shorthands). */
export function parseAddress(s: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const text = s.trim();
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  if (!ipaddr.isValid(text)) return undefined;
  return ipaddr.process(text);
}

function parseRange(s: string): Range | undefined {
  const slash = s.indexOf('/');
  const addr = parseAddress(slash === -1 ? s : s.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  if (slash === -1) return [addr, max];
  const bits = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return [addr, Number(bits)];
}

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
    return ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
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
