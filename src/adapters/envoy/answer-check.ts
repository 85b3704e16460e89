/** One Check, whichever gRPC transport carried it. */
import type { CheckPipeline } from '../../pipeline/check.js';
import type { CheckResult } from '../../pipeline/result.js';
import { RequestError } from '../../core/errors.js';
import { isDecodeFailure, type DecodeFailure, type EnvoyCheck } from './decode-check-request.js';
import { fromCheckRequest } from './from-check-request.js';

/**
 * Always a CheckResult, never an exception: a gRPC error would let Envoy apply its own
 * failure_mode_allow instead of the sidecar's fail_mode.
 */
export function answerCheck(pipeline: CheckPipeline, req: EnvoyCheck | DecodeFailure, deadline: number | undefined): CheckResult | Promise<CheckResult> {
  try {
    if (isDecodeFailure(req)) return pipeline.reject('envoy', new RequestError('invalid_request', req.decodeError));
    const raw = fromCheckRequest(req);
    if (deadline !== undefined) raw.deadline = deadline;
    return pipeline.check(raw);
  } catch {
    return pipeline.fail('envoy', 'evaluation_error');
  }
}
