import { describe, expect, it } from 'vitest';
import { deadlineFrom, encodeGrpcMessage, frameMessage, GrpcError, singleMessage, Status } from './wire.js';

describe('deadlineFrom (grpc-timeout)', () => {
  it.each([
    ['100m', 100],
    ['2S', 2000],
    ['1M', 60_000],
    ['1H', 3_600_000],
    ['5000u', 5],
    ['3000000n', 3],
    ['0n', 0],
  ])('%s is %d ms from now', (v, ms) => {
    expect(deadlineFrom(v, 1_000)).toBeCloseTo(1_000 + ms, 6);
  });

  it('caps absurd values at what a timer can hold', () => {
    expect(deadlineFrom('99999999H', 0)).toBe(2_147_483_647);
  });

  it('is undefined without the header', () => {
    expect(deadlineFrom(undefined, 5)).toBeUndefined();
  });

  it.each(['', 'abc', '-5m', '1.5S', '123456789S', '10 s', '10x'])('rejects %j as INTERNAL', (v) => {
    expect(() => deadlineFrom(v, 0)).toThrow(GrpcError);
    try {
      deadlineFrom(v, 0);
    } catch (e) {
      expect((e as GrpcError).code).toBe(Status.INTERNAL);
    }
  });
});

describe('encodeGrpcMessage', () => {
  it('leaves printable ASCII alone and percent-encodes the rest', () => {
    expect(encodeGrpcMessage('unknown service "x"')).toBe('unknown service "x"');
    expect(encodeGrpcMessage('100% bad\nline')).toBe('100%25 bad%0Aline');
    expect(encodeGrpcMessage('café')).toBe('caf%C3%A9');
  });
});

describe('singleMessage', () => {
  const payload = Buffer.from([1, 2, 3]);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as GrpcError).code;
    }
    return 'no error';
  };

  it('returns the payload of exactly one uncompressed message', () => {
    expect(singleMessage(frameMessage(payload), 'identity', 100)).toEqual(payload);
  });

  it.each([
    ['an empty body', Buffer.alloc(0), Status.UNIMPLEMENTED],
    ['a truncated header', Buffer.from([0, 0, 0]), Status.INTERNAL],
    ['a truncated payload', frameMessage(payload).subarray(0, 6), Status.INTERNAL],
    ['two messages', Buffer.concat([frameMessage(payload), frameMessage(payload)]), Status.UNIMPLEMENTED],
    ['a declared length over the limit', Buffer.from([0, 0, 0, 1, 0]), Status.RESOURCE_EXHAUSTED],
    ['an unknown flag', Buffer.from([7, 0, 0, 0, 0]), Status.INTERNAL],
    ['the compressed flag with identity encoding', Buffer.from([1, 0, 0, 0, 0]), Status.INTERNAL],
  ])('refuses %s', (_name, body, want) => {
    expect(code(() => singleMessage(body, 'identity', 100))).toBe(want);
  });

  it('refuses corrupt gzip as INTERNAL', () => {
    expect(code(() => singleMessage(Buffer.from([1, 0, 0, 0, 2, 9, 9]), 'gzip', 100))).toBe(Status.INTERNAL);
  });
});
