/**
 * GET /api/v1/bundles/{name}: the active policy as a signed bundle (bundles/bundle.ts), for edges
 * that decide locally (evaluator.bundle). With an ETag (the payload's SHA-256): a poll with a
 * matching If-None-Match is a 304 with no body. Built and signed once per config version.
 * Admin and gateway keys; 404 for a name not in `bundles.names`, or without `bundles:`.
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { signBundle, type SignedBundle } from '../../bundles/bundle.js';
import type { Runtime } from '../../config/runtime.js';
import type { ApiDeps } from '../context.js';
import { errors } from '../error-docs.js';
import { ApiError } from '../errors.js';

const BundleParams = T.Object({ name: T.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) });
const BundleView = T.Object({
  format: T.Literal('ascend-bundle/v1'),
  payload: T.String({ description: 'The bundle as a JSON string: {format, name, source_hash, content: {default_decision, mode, agents, routes, policies, risk, workflows}}' }),
  signature: T.String({ description: 'ed25519 signature of the payload\'s UTF-8 bytes, base64' }),
}, { description: 'A signed policy bundle (docs/control-plane.md, "Policy bundles")' });

export function bundleRoutes(api: FastifyInstance, deps: ApiDeps): void {
  const signed = new WeakMap<Runtime, Map<string, SignedBundle>>();
  const bundleOf = (rt: Runtime, name: string): SignedBundle => {
    let byName = signed.get(rt);
    if (byName === undefined) signed.set(rt, (byName = new Map()));
    let b = byName.get(name);
    if (b === undefined && rt.bundleSigner !== undefined) byName.set(name, (b = signBundle(name, rt.config, rt.hash, rt.bundleSigner.key)));
    return b as SignedBundle;
  };

  api.get('/v1/bundles/:name', {
    config: { roles: ['admin', 'gateway'] },
    schema: {
      tags: ['bundles'], summary: 'The active policies, routes, agents, risk and workflows as an ed25519-signed bundle (ETag; If-None-Match answers 304)',
      params: BundleParams, response: { 200: BundleView, 304: T.Null({ description: 'Not modified: the bundle is the one If-None-Match names' }), ...errors({ codes: ['not_found'] }) },
    },
  }, async (req, reply) => {
    const { name } = req.params as { name: string };
    const rt = deps.state.runtime;
    if (rt.bundleSigner === undefined || !rt.bundleSigner.names.has(name)) throw new ApiError(404, 'not_found', `no bundle ${name}${rt.bundleSigner === undefined ? ' (this sidecar serves no bundles: set bundles.signing_key_file)' : ''}`);
    const b = bundleOf(rt, name);
    const etag = `"${b.revision}"`;
    void reply.header('etag', etag).header('cache-control', 'no-cache');
    const inm = req.headers['if-none-match'];
    if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return reply.code(304).send();
    return reply.header('content-type', 'application/json; charset=utf-8').serializer((p: unknown) => p as string).send(b.body);
  });
}
