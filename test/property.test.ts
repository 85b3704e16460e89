/**
 * Property-based tests (fast-check) over the normalizer, the mapper and the decoder.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decodeCheckRequest, isDecodeFailure } from '../src/adapters/envoy/decode-check-request.js';
import { fromCheckRequest } from '../src/adapters/envoy/from-check-request.js';
import { runtimeFromText } from '../src/config/runtime.js';
import { RequestError } from '../src/core/errors.js';
import { canonicalPath } from '../src/gateway/path.js';
import { normalize } from '../src/gateway/normalize.js';
import { DecisionLog } from '../src/observability/decision-log.js';
import { Metrics } from '../src/observability/metrics.js';
import { CheckPipeline } from '../src/pipeline/check.js';
import type { CheckResult } from '../src/pipeline/result.js';
import type { RawGatewayRequest } from '../src/gateway/request.js';
import { RuntimeState } from '../src/pipeline/state.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');
const rt = runtimeFromText(CORE, 'core.yaml', 1);

/** Without an approvals store every check is synchronous; the wrapper asserts it. */
function pipeline(): { check(raw: RawGatewayRequest): CheckResult } {
  const state = new RuntimeState(rt);
  const logger = pino({ level: 'silent' });
  const p = new CheckPipeline({ state, metrics: new Metrics(new Registry(), () => 0, { defaultMetrics: false }), sinks: [DecisionLog.create(logger, { enabled: false, includeHeaders: false, redaction: () => state.runtime.redaction })], logger });
  return {
    check(raw) {
      const r = p.check(raw);
      if (r instanceof Promise) throw new Error('a check without a store returned a Promise');
      return r;
    },
  };
}

/** Pieces that make paths interesting for a canonicalizer. */
const piece = fc.constantFrom('/', '//', '.', '..', '%2e', '%2E', '%2e%2e', 'admin', 'ADMIN', '%61dmin', 'v1', 'orders', ';p=1', '\\', '%25', '%3B', '%2F', '%5c', '%', '%zz', 'é', '%C3%A9', '%FF', 'a b', '?', '~');
const rawPath = fc.array(piece, { maxLength: 12 }).map((ps) => `/${ps.join('')}`);

describe('canonicalPath properties', () => {
  it('is idempotent: the canonical form is a fixed point', () => {
    fc.assert(
      fc.property(rawPath, (p) => {
        let once: string;
        try {
          once = canonicalPath(p.split('?')[0] as string);
        } catch (e) {
          expect(e).toBeInstanceOf(RequestError);
          return;
        }
        expect(canonicalPath(once)).toBe(once);
        expect(once.startsWith('/')).toBe(true);
        expect(once.split('/').some((s) => s === '.' || s === '..')).toBe(false);
        expect(once.includes('//')).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});

/** A random but equivalent spelling of `path`: escapes, case, extra slashes, dot detours, params. */
const spelling = (path: string) =>
  fc
    .tuple(
      fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: path.length, maxLength: path.length }),
      fc.array(fc.constantFrom('', '/', './', 'zz/../', 'v1/orders/../../', ';x=1/', '%2e/'), { minLength: 4, maxLength: 4 }),
    )
    .map(([enc, detours]) => {
      let out = '';
      let seg = 0;
      for (let i = 0; i < path.length; i++) {
        const ch = path[i] as string;
        const [escape, upper] = enc[i] as [boolean, boolean];
        if (ch === '/') {
          out += `/${detours[seg++ % detours.length] ?? ''}`;
        } else if (escape) {
          const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
          out += `%${upper ? hex.toUpperCase() : hex}`;
        } else out += ch;
      }
      return out;
    });

describe('no spelling of a denied path is allowed', () => {
  it.each(['/admin/x', '/admin/users/1', '/admin'])('%s', (target) => {
    const p = pipeline();
    fc.assert(
      fc.property(spelling(target), fc.constantFrom('GET', 'POST', 'DELETE', 'get'), (t, method) => {
        const r = p.check({ adapter: 'envoy', method, target: t, host: 'api.internal', headers: { 'x-agent-id': 'billing-agent' } });
        expect(r.decision.decision, `${method} ${t}`).toBe('denied');
      }),
      { numRuns: 1500 },
    );
  });

  it('large refunds stay pending whatever the encoding of the path or the amount', () => {
    const p = pipeline();
    const amount = fc.constantFrom('1500', '%31500', '1500.0', '1e4', '%2B1500', '%201500', '0x5DC', '1500&amount=1', '1&amount=1500');
    fc.assert(
      fc.property(spelling('/v1/refunds/r1'), amount, (t, a) => {
        const r = p.check({ adapter: 'envoy', method: 'POST', target: `${t}?amount=${a}`, host: 'api.internal', headers: { 'x-agent-id': 'billing-agent' } });
        expect(r.decision.decision, `${t}?amount=${a}`).not.toBe('allowed');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('random input never throws', () => {
  it('decodeCheckRequest on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = decodeCheckRequest(bytes);
        if (!isDecodeFailure(r)) expect(typeof r.path).toBe('string');
      }),
      { numRuns: 5000 },
    );
  });

  it('the pipeline on random requests always returns a decision', () => {
    const p = pipeline();
    const headers = fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 20 }), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.string({ maxLength: 60 }), fc.string({ maxLength: 20 }), headers, fc.option(fc.string()), (method, target, host, h, principal) => {
        const r = p.check({ adapter: 'envoy', method, target, host, headers: h, principal: principal ?? undefined });
        expect(['allowed', 'denied', 'pending']).toContain(r.decision.decision);
        if (r.decision.decision === 'allowed') {
          // Only a valid, canonical request can be allowed.
          expect(() => normalize({ adapter: 'envoy', method, target, host, headers: h })).not.toThrow();
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random CheckRequests encoded on the wire go through decode → pipeline', () => {
    const p = pipeline();
    const enc = (s: string) => Buffer.from(s, 'utf8');
    const field = (n: number, payload: Buffer) => Buffer.concat([Buffer.from([(n << 3) | 2, payload.length]), payload]);
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 }), (method, path, host) => {
        const http = Buffer.concat([field(2, enc(method)), field(4, enc(path)), field(5, enc(host))]);
        if (http.length > 127) return;
        const bytes = field(1, field(4, field(2, http)));
        const c = decodeCheckRequest(bytes);
        if (isDecodeFailure(c)) return;
        const r = p.check(fromCheckRequest(c));
        expect(['allowed', 'denied', 'pending']).toContain(r.decision.decision);
      }),
      { numRuns: 2000 },
    );
  });
});
