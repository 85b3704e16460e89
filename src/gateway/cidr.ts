/**
 * IP addresses and CIDR ranges. Parsing uses ipaddr.js (the library behind fastify's and
 * express's trustProxy, already in the tree through fastify) rather than a hand-written parser:
 * IPv6 has many spellings (`::1`, `0:0::1`, zone ids, embedded IPv4) and Node reports IPv4 peers
 * of a dual-stack socket as IPv4-mapped IPv6 (`::ffff:127.0.0.1`), which `process()` folds back
 * to IPv4 so `127.0.0.1/8` matches them.
 */
import ipaddr from 'ipaddr.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type Range = readonly [Address, number];

/** Parses one address: IPv4 only in dotted-quad form (no `0x7f.1` shorthands). */
export function parseAddress(s: string): Address | undefined {
  const text = s.trim();
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  if (!ipaddr.isValid(text)) return undefined;
  return ipaddr.process(text);
}

/** `10.0.0.0/8`, `::1/128` or a bare address (a range of one). */
export function parseRange(s: string): Range | undefined {
  const slash = s.indexOf('/');
  const addr = parseAddress(slash === -1 ? s : s.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  if (slash === -1) return [addr, max];
  const bits = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return [addr, Number(bits)];
}

export function inRanges(ip: Address, ranges: readonly Range[]): boolean {
  return ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
}
