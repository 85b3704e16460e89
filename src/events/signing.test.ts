import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, verifyWebhookDetailed, webhookHeaders } from './signing.js';

const SECRET = 's3cret';
const BODY = '{"id":"evt_1","event":"action.pending","created_at":"2023-11-14T22:13:20.000Z","data":{"action_id":"act_1"}}';
const TS = 1_700_000_000;
const NOW = TS * 1000;
// Computed independently with Python's hmac module (the docs/webhooks.md receiver).
const VECTOR = 'v1=4fca75489315917929ff2a2af639e313d72717bfcf94df4f42fc17c82e35b91a';

describe('webhook signing', () => {
  it('matches an independently computed HMAC-SHA256 vector', () => {
    expect(signWebhook(SECRET, TS, BODY)).toBe(VECTOR);
    expect(signWebhook(SECRET, TS, Buffer.from(BODY))).toBe(VECTOR);
  });

  it('builds the three headers from the clock', () => {
    expect(webhookHeaders(SECRET, 'evt_1', BODY, NOW + 999)).toEqual({
      'x-signature': VECTOR, 'x-request-timestamp': String(TS), 'x-event-id': 'evt_1',
    });
  });

  const good = { 'x-signature': VECTOR, 'x-request-timestamp': String(TS) };
  it.each([
    ['lower-case plain object', good, true],
    ['any-case names', { 'X-Signature': VECTOR, 'X-Request-Timestamp': String(TS) }, true],
    ['a fetch Headers object', new Headers(good), true],
    ['a rotation list with the right one second', { ...good, 'x-signature': `v1=${'0'.repeat(64)}, ${VECTOR}` }, true],
    ['repeated headers as arrays', { ...good, 'x-signature': [`v1=${'0'.repeat(64)}`, VECTOR] }, true],
  ])('accepts %s', (_name, headers, ok) => {
    expect(verifyWebhook(SECRET, headers, BODY, { now: NOW })).toBe(ok);
  });

  it.each([
    ['missing timestamp', { 'x-signature': VECTOR }, BODY, NOW, 'missing_timestamp'],
    ['non-numeric timestamp', { ...good, 'x-request-timestamp': '17e8' }, BODY, NOW, 'invalid_timestamp'],
    ['two timestamps', { ...good, 'x-request-timestamp': [String(TS), String(TS)] }, BODY, NOW, 'invalid_timestamp'],
    ['a timestamp 301 s old', good, BODY, NOW + 301_000, 'stale_timestamp'],
    ['a timestamp 301 s ahead', good, BODY, NOW - 301_000, 'stale_timestamp'],
    ['missing signature', { 'x-request-timestamp': String(TS) }, BODY, NOW, 'missing_signature'],
    ['a tampered body', good, BODY.replace('act_1', 'act_2'), NOW, 'invalid_signature'],
    ['a wrong scheme', { ...good, 'x-signature': VECTOR.replace('v1=', 'v0=') }, BODY, NOW, 'invalid_signature'],
    ['a truncated signature', { ...good, 'x-signature': VECTOR.slice(0, -2) }, BODY, NOW, 'invalid_signature'],
    ['a replayed signature with a new timestamp', { ...good, 'x-request-timestamp': String(TS + 1) }, BODY, NOW, 'invalid_signature'],
  ])('rejects %s', (_name, headers, body, now, reason) => {
    expect(verifyWebhookDetailed(SECRET, headers, body, { now })).toEqual({ ok: false, reason });
    expect(verifyWebhook(SECRET, headers, body, { now })).toBe(false);
  });

  it('rejects the right signature under another secret', () => {
    expect(verifyWebhookDetailed('other', good, BODY, { now: NOW })).toEqual({ ok: false, reason: 'invalid_signature' });
  });

  it('honours toleranceSeconds and a Date for now', () => {
    expect(verifyWebhook(SECRET, good, BODY, { now: new Date(NOW + 300_000) })).toBe(true);
    expect(verifyWebhook(SECRET, good, BODY, { now: NOW + 10_000, toleranceSeconds: 5 })).toBe(false);
    expect(verifyWebhookDetailed(SECRET, good, BODY, { now: NOW })).toEqual({ ok: true, timestamp: TS });
  });

  it('refuses an empty secret instead of signing with it', () => {
    expect(() => signWebhook('', TS, BODY)).toThrow(TypeError);
  });
});
