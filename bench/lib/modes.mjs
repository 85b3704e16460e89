// Load shapes, shared by every driver (h2load, h2client, wrk) so "saturation" means the same
// thing whichever tool drives it.
//
//   saturation: 16 connections × 32 streams — as many in flight as the server will take; the
//               req/s is the server's capacity on one core.
//   serial:     1 connection × 1 stream — one request at a time; the latency is the floor.
//   fixed:      a fixed offered load (h2load --rps, per connection); latency at a rate well under
//               capacity. h2load sends each second's quota in bursts, so compare its tails only
//               against a baseline run driven the same way.
//   http:       64 HTTP/1.1 keep-alive connections (no pipelining: one request in flight each).
export const MODES = {
  saturation: { c: 16, m: 32 },
  serial: { c: 1, m: 1 },
  fixed: { c: 4, m: 8, totalRps: 2000 },
  http: { c: 64, m: 1 },
};

/** Resolve a mode name or object to { name, c, m, totalRps? }. */
export function mode(nameOrSpec) {
  if (typeof nameOrSpec === 'object') return { name: 'custom', ...nameOrSpec };
  const spec = MODES[nameOrSpec];
  if (!spec) throw new Error(`unknown load mode ${nameOrSpec} (${Object.keys(MODES).join(', ')})`);
  return { name: nameOrSpec, ...spec };
}

export const describeMode = (m) => `${m.c}×${m.m}${m.totalRps ? ` @${m.totalRps}/s` : ''}`;
