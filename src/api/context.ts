/** What the API routes share: the pipeline, the live config, the approvals layer if any, the agents. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApprovalsLayer } from '../approvals/layer.js';
import type { AuditStream } from '../observability/audit-stream.js';
import type { CheckPipeline } from '../pipeline/check.js';
import type { AgentsLayer } from '../registry/layer.js';
import type { RuntimeState } from '../pipeline/state.js';
import type { Clock } from '../shared/runtime.js';
import { ApiError } from './errors.js';

export interface ApiDeps {
  readonly state: RuntimeState;
  readonly pipeline: CheckPipeline;
  /** Undefined without `store:`; routes that read durable state then answer 501. */
  readonly layer: ApprovalsLayer | undefined;
  readonly logger: Logger;
  readonly auditStream: AuditStream | undefined;
  readonly now: Clock;
  /** Where the API's own metrics go (ascend_api_rate_limited_total). */
  readonly registry: Registry;
  /** Registry, heartbeats, kill switch (the parts that need a store are undefined without one). */
  readonly agents: AgentsLayer;
}

/** `part`, or 501 store_not_configured when it exists only with `store:`. */
export function requireStored<T>(part: T | undefined): T {
  if (part === undefined) throw new ApiError(501, 'store_not_configured', 'this endpoint needs durable state: configure `store:`');
  return part;
}

export function requireLayer(deps: ApiDeps): ApprovalsLayer {
  return requireStored(deps.layer);
}

export function pageLimit(deps: ApiDeps, limit: number | undefined): number {
  return Math.min(limit ?? 50, deps.state.runtime.config.api.page_max);
}

export const publicUrl = (deps: ApiDeps): string | undefined => deps.state.runtime.config.api.public_url;
