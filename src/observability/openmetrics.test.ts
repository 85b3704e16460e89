import { describe, expect, it } from 'vitest';
import { toOpenMetrics, wantsOpenMetrics } from './openmetrics.js';

const PROM = `# HELP ascend_authz_decisions_total Decisions
# TYPE ascend_authz_decisions_total counter
ascend_authz_decisions_total{adapter="envoy",decision="allowed"} 3

# HELP odd_counter A counter without the suffix
# TYPE odd_counter counter
odd_counter 2

# HELP h A histogram
# TYPE h histogram
h_bucket{le="0.001",adapter="envoy"} 1
h_bucket{le="+Inf",adapter="envoy"} 2
h_sum{adapter="envoy"} 0.5
h_count{adapter="envoy"} 2

# HELP u Something
# TYPE u untyped
u 1
`;

describe('toOpenMetrics', () => {
  const om = toOpenMetrics(PROM, new Map([['h_bucket{le="0.001",adapter="envoy"}', ' # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.0004 1700000000.5']]));
  const lines = om.split('\n');

  it('names counter families without _total, keeps or adds the suffix on their samples', () => {
    expect(lines).toContain('# TYPE ascend_authz_decisions counter');
    expect(lines).toContain('# HELP ascend_authz_decisions Decisions');
    expect(lines).toContain('ascend_authz_decisions_total{adapter="envoy",decision="allowed"} 3');
    expect(lines).toContain('# TYPE odd_counter counter');
    expect(lines).toContain('odd_counter_total 2');
  });

  it('puts the exemplar after its bucket sample only', () => {
    expect(lines).toContain('h_bucket{le="0.001",adapter="envoy"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.0004 1700000000.5');
    expect(lines).toContain('h_bucket{le="+Inf",adapter="envoy"} 2');
  });

  it('untyped is unknown; no blank lines; ends with # EOF', () => {
    expect(lines).toContain('# TYPE u unknown');
    expect(lines.slice(0, -1)).not.toContain('');
    expect(om.endsWith('# EOF\n')).toBe(true);
  });

  it('negotiates on the Accept header', () => {
    expect(wantsOpenMetrics('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5')).toBe(true);
    expect(wantsOpenMetrics('text/plain')).toBe(false);
    expect(wantsOpenMetrics(undefined)).toBe(false);
  });
});
