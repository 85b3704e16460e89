/**
 * Where a finished check is recorded: the decision log, the durable audit buffer, the alert
 * detector, the SIEM stream. `finish()` hands every result to each sink, on every return path.
 * A sink's `record` is synchronous and must not throw or wait: buffer, then flush elsewhere.
 */
import type { CheckResult } from './result.js';

export interface DecisionSink {
  record(r: CheckResult): void;
}
