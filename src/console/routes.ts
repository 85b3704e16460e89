/**
 * The approver console at /console on the HTTP listener: the prebuilt page (assets.ts), login
 * and logout (sessions.ts), and the console's own JSON routes under /console/api, which call the
 * same services with the same roles as the REST API (viewers look, approvers vote in their
 * groups, admins manage). These routes authenticate by session cookie only — never by API key —
 * and every change needs the session's CSRF token; the REST API never reads the cookie.
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/context.js';
import { keySafeOn } from '../api/auth.js';
import { ApiError, installErrorHandling } from '../api/errors.js';
import { useJsonParser } from '../http/server.js';
import type { Timers } from '../shared/runtime.js';
import { loadAssets, type Asset } from './assets.js';
import { approvalRoutes } from './approval-routes.js';
import { ConsoleDecisions } from './decisions.js';
import { ConsoleFeed } from './feed.js';
import { opsRoutes } from './ops-routes.js';
import { LoginLimit } from './login-limit.js';
import type { ConsoleContext } from './context.js';
import { ConsoleSessions, type ConsoleSession } from './sessions.js';

/** No inline script or style anywhere: the page's data comes from the JSON routes. */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
  + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const isTls = (req: FastifyRequest): boolean => req.protocol === 'https';

function sendAsset(reply: FastifyReply, a: Asset, cache: string): FastifyReply {
  return reply.header('content-type', a.type).header('cache-control', cache).send(a.body);
}

export interface ConsoleOptions {
  readonly timers: Timers;
  /** The pipeline's decisions (live feed, policy counts); none in tests that build only the API. */
  readonly decisions?: ConsoleDecisions;
  /** Where the built assets are (tests of a missing build); default dist/console/public. */
  readonly assetDir?: string;
}

export async function registerConsole(http: FastifyInstance, deps: ApiDeps, opts: ConsoleOptions): Promise<() => void> {
  const cfg = () => deps.state.runtime.config.console;
  if (!cfg().enabled) return () => {};
  const assets = loadAssets(opts.assetDir);
  const layer = deps.layer;
  const decisions = opts.decisions ?? new ConsoleDecisions(deps.now);
  const feed = layer ? new ConsoleFeed(layer, opts.timers, decisions) : undefined;
  await http.register(async (scope) => {
    scope.addHook('onSend', async (_req, reply) => { reply.headers(SECURITY_HEADERS); });
    const page = async (_req: FastifyRequest, reply: FastifyReply) => {
      const index = assets?.get('index.html');
      if (!index) return reply.code(503).type('text/plain; charset=utf-8').send('The console was not built: run `npm run build`.\n');
      return sendAsset(reply, index, 'no-store');
    };
    scope.get('/console', page);
    scope.get('/console/', page);
    for (const name of ['app.js', 'app.css']) {
      scope.get(`/console/assets/${name}`, async (_req, reply) => {
        const a = assets?.get(name);
        return a ? sendAsset(reply, a, 'no-cache') : reply.code(404).send();
      });
    }
    await scope.register(async (api) => {
      useJsonParser(api, deps.state, { allowEmpty: true });
      installErrorHandling(api, deps.logger, (url) => url);
      api.addHook('onSend', async (_req, reply) => { reply.header('cache-control', 'no-store'); });
      if (!layer || !feed) {
        api.all('/*', async () => { throw new ApiError(501, 'store_not_configured', 'the console needs durable state for its sessions: configure `store:`'); });
        return;
      }
      const sessions = new ConsoleSessions({
        store: layer.store, keys: () => deps.state.runtime.apiKeys, ttlMs: () => cfg().session_ttl_minutes * 60_000, now: deps.now,
      });
      const limit = new LoginLimit({ attempts: cfg().login_attempts_per_minute, windowMs: 60_000 }, deps.now);
      const ctx: ConsoleContext = {
        deps, sessions, feed,
        async session(req, roles) {
          const s = req.consoleSession ?? await sessions.require(req);
          if (roles && !roles.includes(s.principal.role)) {
            throw new ApiError(403, 'forbidden', `API key "${s.principal.name}" (role ${s.principal.role}) may not do this; needs ${roles.join(' or ')}`);
          }
          return s;
        },
      };
      // Before the body is read: without a session (or, for a change, its CSRF token) a caller
      // learns nothing of the routes' shapes.
      api.decorateRequest('consoleSession', null);
      api.addHook('onRequest', async (req) => {
        // As for the REST API's keys (api.allow_plaintext): a key or a session cookie sent in the
        // clear from another host is a credential given away.
        if (!deps.state.runtime.config.api.allow_plaintext && !keySafeOn(req.raw.socket)) {
          throw new ApiError(403, 'plaintext_not_allowed', 'the console takes keys and sessions only over TLS (server.tls) or from loopback; set api.allow_plaintext: true if a proxy in front of the sidecar terminates TLS');
        }
        if (req.routeOptions.url !== '/console/api/login') req.consoleSession = await sessions.require(req);
      });
      sessionRoutes(api, ctx, limit);
      approvalRoutes(api, ctx);
      opsRoutes(api, ctx, decisions);
      api.get('/events', async (req, reply) => {
        await ctx.session(req);
        reply.hijack();
        feed.attach(reply.raw);
      });
    }, { prefix: '/console/api' });
  });
  return () => feed?.close();
}

const LoginBody = T.Object({ key: T.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });

function who(s: ConsoleSession, now: number) {
  const p = s.principal;
  return { name: p.name, role: p.role, groups: p.groups, csrf_token: s.csrf, expires_at: new Date(s.expiresAt).toISOString(), server_time: new Date(now).toISOString() };
}

function sessionRoutes(api: FastifyInstance, ctx: ConsoleContext, limit: LoginLimit): void {
  api.post('/login', { schema: { body: LoginBody } }, async (req, reply) => {
    const taken = limit.take(req.ip);
    if (!taken.ok) throw new ApiError(429, 'rate_limited', 'too many login attempts from this address; wait and retry', undefined, taken.retryAfter);
    const { key } = req.body as { key: string };
    const s = await ctx.sessions.login(key, reply, isTls(req));
    ctx.deps.logger.info({ api_key: s.principal.name, role: s.principal.role }, 'console login');
    return who(s, ctx.deps.now());
  });
  api.get('/session', async (req) => who(await ctx.session(req), ctx.deps.now()));
  api.post('/logout', async (req, reply) => {
    const s = await ctx.session(req);
    await ctx.sessions.logout(s, reply, isTls(req));
    return { logged_out: true };
  });
}

