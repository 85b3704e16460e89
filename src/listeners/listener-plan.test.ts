import { describe, expect, it } from 'vitest';
import { fitToOpenFiles, parseOpenFileLimit, RESERVED_FDS } from './listener-plan.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('parseOpenFileLimit', () => {
  it('reads the soft limit of "Max open files"', () => {
    expect(parseOpenFileLimit(LIMITS)).toBe(20_000);
    expect(parseOpenFileLimit(LIMITS.replace('20000                20000', '1024                 524288'))).toBe(1024);
  });

  it('unlimited or absent: undefined', () => {
    expect(parseOpenFileLimit(LIMITS.replace('20000                20000', 'unlimited            unlimited'))).toBeUndefined();
    expect(parseOpenFileLimit('Max cpu time unlimited unlimited seconds\n')).toBeUndefined();
  });
});

describe('fitToOpenFiles', () => {
  it('keeps caps that fit, the reserve included', () => {
    const caps = { grpc: 10_000, http: 10_000 };
    expect(fitToOpenFiles(caps, 20_000 + RESERVED_FDS)).toEqual({ caps, clamped: false });
    expect(fitToOpenFiles(caps, 1_048_576)).toEqual({ caps, clamped: false });
    expect(fitToOpenFiles(caps, undefined)).toEqual({ caps, clamped: false });
  });

  it('lowers the HTTP cap first: gRPC keeps its own', () => {
    // 20,000 − 256 = 19,744 available: gRPC 10,000, HTTP what is left.
    expect(fitToOpenFiles({ grpc: 10_000, http: 10_000 }, 20_000)).toEqual({ caps: { grpc: 10_000, http: 9_744 }, clamped: true });
  });

  it('HTTP keeps a quarter of what is available: gRPC is lowered only when even its cap does not leave that', () => {
    // 1,024 − 256 = 768: HTTP at least 192, gRPC the other 576.
    expect(fitToOpenFiles({ grpc: 10_000, http: 10_000 }, 1024)).toEqual({ caps: { grpc: 576, http: 192 }, clamped: true });
    expect(fitToOpenFiles({ grpc: 100, http: 10_000 }, 1024)).toEqual({ caps: { grpc: 100, http: 668 }, clamped: true });
    expect(fitToOpenFiles({ grpc: 10_000, http: 50 }, 1024)).toEqual({ caps: { grpc: 576, http: 50 }, clamped: true });
  });

  it('a gateway listener shares the HTTP part in proportion', () => {
    // 20,000 − 256 = 19,744: gRPC keeps 10,000; 9,744 for the two HTTP listeners.
    expect(fitToOpenFiles({ grpc: 10_000, http: 10_000, gatewayHttp: 10_000 }, 20_000)).toEqual({ caps: { grpc: 10_000, http: 4_872, gatewayHttp: 4_872 }, clamped: true });
    expect(fitToOpenFiles({ grpc: 10_000, http: 10_000, gatewayHttp: 10_000 }, 30_256)).toEqual({ caps: { grpc: 10_000, http: 10_000, gatewayHttp: 10_000 }, clamped: false });
  });

  it('never goes below one connection per listener', () => {
    expect(fitToOpenFiles({ grpc: 10, http: 10 }, 100)).toEqual({ caps: { grpc: 2, http: 1 }, clamped: true });
  });
});
