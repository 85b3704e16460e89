/**
 * The SSRF guard of webhook subscriptions made through the API: an API key must not be able to
 * make the sidecar POST to its own network (loopback, RFC 1918 / ULA private ranges,
 * link-local, CGNAT, cloud metadata endpoints such as 169.254.169.254). Subscriptions from the
 * config file are the operator's and are not checked.
 *
 * The check runs twice: when the subscription is made (a literal address, or every address the
 * host resolves to), and on every delivery connection, through a `lookup` that refuses such
 * addresses — a host that resolved to a public address at creation may resolve to 127.0.0.1
 * later (DNS rebinding). Node connects to literal addresses without calling `lookup`, so
 * literals are checked before connecting (checkLiteral).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { inRanges, parseAddress, parseRange, type Range } from '../gateway/cidr.js';

/** Refused ranges, most specific first (a metadata address is named as such, not as link-local). */
const REFUSED: readonly (readonly [string, readonly string[]])[] = [
  // AWS/GCP/Azure/OpenStack, AWS ECS task metadata, Alibaba Cloud, AWS over IPv6.
  ['cloud metadata', ['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']],
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['unspecified', ['0.0.0.0/8', '::/128']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  ['CGNAT', ['100.64.0.0/10']],
  ['multicast or reserved', ['224.0.0.0/4', '240.0.0.0/4', 'ff00::/8']],
  // These carry an IPv4 address inside an IPv6 one: NAT64, IPv4-compatible, 6to4.
  ['IPv4-embedding', ['64:ff9b::/96', '64:ff9b:1::/48', '::/96', '2002::/16']],
];

const RANGES: readonly (readonly [string, readonly Range[]])[] = REFUSED.map(([label, cidrs]) => [
  label, cidrs.map((c) => parseRange(c) ?? raise(`bad built-in range ${c}`)),
]);

function raise(message: string): never {
  throw new Error(message);
}

/** The kind of range that makes `address` refused (e.g. "loopback"), or undefined. */
export function refusedRange(address: string): string | undefined {
  const ip = parseAddress(address);
  if (!ip) return 'unparsable';
  return RANGES.find(([, ranges]) => inRanges(ip, ranges))?.[0];
}

/** A delivery or a subscription refused by the guard; the message says why. */
export class TargetRefused extends Error {
  override readonly name = 'TargetRefused';
  readonly code = 'target_refused';
}

const HINT = 'set api.allow_private_webhook_targets: true to allow it';
const article = (label: string): string => (/^[aeiouAEIOU]/.test(label) ? 'an' : 'a');

/** The URL's host without IPv6 brackets. */
export const hostOf = (u: URL): string => u.hostname.replace(/^\[(.*)\]$/, '$1');

/** Throws TargetRefused for a non-https URL or a literal refused address. */
export function checkLiteral(u: URL): void {
  if (u.protocol !== 'https:') throw new TargetRefused(`${u.protocol}// is refused: webhook urls must be https:// (${HINT})`);
  const host = hostOf(u);
  const why = isIP(host) ? refusedRange(host) : undefined;
  if (why) throw new TargetRefused(`${host} is ${article(why)} ${why} address (${HINT})`);
}

function checkResolved(host: string, addresses: readonly LookupAddress[]): void {
  if (addresses.length === 0) throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND' });
  for (const a of addresses) {
    const why = refusedRange(a.address);
    if (why) throw new TargetRefused(`${host} resolves to ${a.address}, ${article(why)} ${why} address (${HINT})`);
  }
}

export type ResolveAll = (host: string, options: LookupAllOptions, cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolve: ResolveAll = (host, options, cb) => dnsLookup(host, options, cb);

/**
 * A `lookup` for http.request: resolves every address and refuses the connection if any of them
 * is in a refused range (connecting to the "good" one would let a name mixing both through).
 */
export function guardedLookup(resolve: ResolveAll = systemResolve) {
  return (host: string, options: LookupOptions, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void => {
    resolve(host, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, '');
      try {
        checkResolved(host, addresses);
      } catch (e) {
        return cb(e as Error, '');
      }
      if (options.all) return cb(null, addresses);
      const first = addresses[0]!;
      return cb(null, first.address, first.family);
    });
  };
}

/** Why `url` may not be an API-made subscription's target, or undefined if it may. */
export async function targetProblem(url: string, resolve: ResolveAll = systemResolve): Promise<string | undefined> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  const host = hostOf(u);
  try {
    checkLiteral(u);
    if (isIP(host)) return undefined;
    const addresses = await new Promise<LookupAddress[]>((ok, fail) => resolve(host, { all: true }, (err, a) => (err ? fail(err) : ok(a))));
    checkResolved(host, addresses);
    return undefined;
  } catch (e) {
    if (e instanceof TargetRefused) return e.message;
    return `${host} could not be resolved (${(e as { code?: string }).code ?? (e as Error).message})`;
  }
}
