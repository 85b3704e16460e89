/**
 * The ASCEND-compatible REST API under /api on the HTTP listener.
 *
 * OpenAPI: @fastify/swagger (9.x: fastify 5, no engine or peer constraints) collects the route
 * schemas that fastify already validates with, so GET /api/docs is generated from exactly what is
 * enforced, error answers included (error-docs.ts). Only tagged routes are published
 * (hideUntagged): health, metrics and the gateway adapters on the same listener stay out of it.
 * The document holds no secret, so it and its browsable UI (@fastify/swagger-ui, assets served
 * from the package: no CDN) need no key.
 *
 * Validation: bodies are validated without type coercion (a number is not a string); query
 * strings and path parameters are coerced (they are text on the wire).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import AjvModule from 'ajv';
import type { FastifyInstance } from 'fastify';
import { useJsonParser } from '../http/server.js';
import { installAuth } from './auth.js';
import { addFastSubmit } from './fast-submit.js';
import type { ApiDeps } from './context.js';
import { installErrorHandling } from './errors.js';
import { rateLimits } from './rate-limit.js';
import { abTestRoutes } from './routes/ab-tests.js';
import { smartRuleRoutes } from './routes/smart-rules.js';
import { actionRoutes } from './routes/actions.js';
import { activityRoutes } from './routes/activity.js';
import { metaRoutes } from './routes/meta.js';
import { bundleRoutes } from './routes/bundles.js';
import { submitRoutes } from './routes/submit.js';
import { approvalRoutes } from './routes/approvals.js';
import { auditRoutes } from './routes/audit.js';
import { auditLogRoutes } from './routes/audit-logs.js';
import { authorizationRoutes } from './routes/authorization.js';
import { webhookRoutes } from './routes/webhooks.js';
import { installSigning } from './signing.js';
import { commandRoutes } from './routes/commands.js';
import { healthRoutes } from './routes/health.js';
import { killSwitchRoutes } from './routes/kill-switch.js';
import { registryRoutes } from './routes/registry.js';

const Ajv = AjvModule.default ?? AjvModule;

function validators() {
  const common = { allErrors: false, strict: false, useDefaults: true } as const;
  return { body: new Ajv({ ...common, coerceTypes: false }), text: new Ajv({ ...common, coerceTypes: 'array' }) };
}

interface OpenApiDoc { paths?: Record<string, Record<string, { responses?: Record<string, { description?: string }> }>> }

const STATUS_TEXT: Readonly<Record<string, string>> = { 200: 'OK', 201: 'Created', 204: 'No Content' };

/** A success answer without its own description reads as its status, not "Default Response". */
function named2xx(doc: OpenApiDoc): OpenApiDoc {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        if (res.description === 'Default Response' && STATUS_TEXT[status]) res.description = STATUS_TEXT[status];
      }
    }
  }
  return doc;
}

export async function registerApi(http: FastifyInstance, deps: ApiDeps, version: string): Promise<void> {
  await http.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'ascend-sidecar REST API', version, description: 'ASCEND-compatible authorization, approvals, audit, agent registry and kill switch API' },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer', description: 'the same key as Authorization: Bearer (the ASCEND SDK sends both)' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    hideUntagged: true,
    transformObject: (doc) => named2xx(('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject) as OpenApiDoc) as Record<string, unknown>,
  });
  // Validation, JSON parsing, errors, keys, rate limits and signatures: the same in every scope
  // of the API (one set of token buckets for both).
  const limits = rateLimits(deps.registry, deps.now);
  const setup = (api: FastifyInstance, notFound = true): void => {
    const ajv = validators();
    api.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.text).compile(schema));
    useJsonParser(api, deps.state, { allowEmpty: true, keepRaw: true });
    installErrorHandling(api, deps.logger, (url) => deps.state.runtime.redaction.target(url), { notFound });
    installAuth(api, deps.state, limits);
    installSigning(api, deps.state, deps.now);
  };
  await http.register(async (api) => {
    setup(api);
    authorizationRoutes(api, deps);
    submitRoutes(api, deps);
    bundleRoutes(api, deps);
    actionRoutes(api, deps);
    activityRoutes(api, deps);
    metaRoutes(api, deps, version);
    approvalRoutes(api, deps);
    auditRoutes(api, deps);
    webhookRoutes(api, deps);
    registryRoutes(api, deps);
    healthRoutes(api, deps);
    killSwitchRoutes(api, deps);
    commandRoutes(api, deps);
    abTestRoutes(api, deps);
    smartRuleRoutes(api, deps);
  }, { prefix: '/api' });
  // The SDK's evaluate_action, also on the listener's fast path (the common case: a key that does not sign).
  addFastSubmit(http, deps, { limits, validator: validators().body });
  // The ASCEND SDK reads its audit log outside /api.
  await http.register(async (api) => {
    setup(api, false);
    auditLogRoutes(api, deps);
  });
  // The document and its UI: no key (the document holds no secret).
  http.get('/api/docs', { schema: { tags: ['meta'], summary: 'This OpenAPI 3 document (no key needed)', security: [] } }, async () => http.swagger());
  await http.register(swaggerUi, { routePrefix: '/api/docs/ui', uiConfig: { docExpansion: 'list', deepLinking: true }, staticCSP: true });
  // The ASCEND SDK's test_connection reads GET /health (no key; /healthz is the probe's).
  http.get('/health', { schema: { tags: ['meta'], summary: 'Liveness for the ASCEND SDK (no key)' } }, async () => ({
    status: deps.state.serving ? 'healthy' : 'draining', version,
  }));
}
