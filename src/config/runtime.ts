/**
 * Validated config → the frozen runtime one check uses: compiled routes, identity sources,
 * policy index, risk model and cache-key function. Cross-field checks happen here so every
 * problem is reported with its field path before anything is swapped in.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { ed25519PrivateKey, ed25519PublicKey } from '../bundles/bundle.js';
import { ApiKeyTable } from '../api/keys.js';
import { approvalSettings, resolveWorkflow, type ApprovalSettings } from '../approvals/config.js';
import { validateWorkflow, type WorkflowDefinition } from '../approvals/workflow.js';
import type { EvalInput } from '../core/action.js';
import { createActionBinder, type ActionBinder } from '../evaluator/binding.js';
import { readClientTls, type ClientTls } from '../evaluator/client-tls.js';
import { createFingerprinter } from '../evaluator/fingerprint.js';
import { factsRead } from '../evaluator/request-facts.js';
import { STANDARD_METHODS, type NormalizeOptions } from '../gateway/normalize.js';
import { compileGatewayAccess, type GatewayAccess } from '../gateway/access.js';
import { compileTrustedProxies, type TrustedProxies } from '../gateway/trusted-proxies.js';
import { AgentRegistry } from '../mapping/agents.js';
import { checkTls } from '../listeners/tls.js';
import { compileIdentity } from '../mapping/identity.js';
import { Mapper } from '../mapping/mapper.js';
import { queryKeysRead } from '../mapping/query-keys.js';
import { compileRoute, RouteTable, type CompiledRoute } from '../mapping/routes.js';
import { maskUrl, Redaction } from '../observability/redact.js';
import { PolicyEngine } from '../policy/engine.js';
import { RiskModel } from '../policy/risk.js';
import type { WebhookSubscription } from '../events/types.js';
import { ConfigError, IssueList } from './errors.js';
import { configRelative, readConfigFile } from './files.js';
import { resolveSecret } from './secrets.js';
import { locate, parseConfig } from './parse.js';
import type { Config } from './schema.js';

export interface Runtime {
  readonly version: number;
  /** sha256 of the file text (first 12 hex digits), shown in logs and metrics. */
  readonly hash: string;
  readonly source: string;
  readonly config: Config;
  readonly normalize: NormalizeOptions;
  readonly mapper: Mapper;
  readonly engine: PolicyEngine;
  readonly fingerprint: (input: EvalInput) => string;
  /** What a decision (and an approval's grant) is bound to: policy digest, workflow, values read. */
  readonly bind: ActionBinder;
  readonly routeCount: number;
  /** The request facts (`request.*`) the policies read, as a control plane names them to its edges. */
  readonly requestFacts: readonly string[];
  /** The workflow of every require_approval policy, by policy id (resolved at load, never per check). */
  readonly workflows: ReadonlyMap<string, WorkflowDefinition>;
  readonly approvalSettings: ApprovalSettings;
  readonly apiKeys: ApiKeyTable;
  /** forward_auth.trusted_proxies: peers whose forwarding headers are believed. */
  readonly trustedProxies: TrustedProxies;
  /** decision_log.redact over the built-in lists: what no log may show. */
  readonly redaction: Redaction;
  /** gateway_access: who may call the Kong, Kong opa and forward-auth endpoints. */
  readonly gatewayAccess: GatewayAccess;
  /** The config's webhook subscriptions, their secrets read ({env}/{file} resolved). */
  readonly webhooks: readonly WebhookSubscription[];
  /** tracing.headers, their values read ({env}/{file} resolved). */
  readonly tracingHeaders: Readonly<Record<string, string>>;
  /** evaluator.api_key, read ({env}/{file} resolved); undefined unless mode remote or a bundle. */
  readonly evaluatorKey: string | undefined;
  /** evaluator.tls, its files read (at each compile, so a reload re-reads them). */
  readonly evaluatorTls: ClientTls | undefined;
  /** bundles: the signing key and the names served (a control plane). */
  readonly bundleSigner: { readonly key: KeyObject; readonly names: ReadonlySet<string> } | undefined;
  /** evaluator.bundle: the key bundles must be signed with (an edge). */
  readonly bundleKey: KeyObject | undefined;
  /** store.driver postgres: the connection URL (store.url read, or ASCEND_STORE_URL); else undefined. */
  readonly storeUrl: string | undefined;
}

/** A PEM key file (relative to the config file), read and checked; undefined and an issue when it cannot be. */
function readKey(file: string, at: (string | number)[], configPath: string, parse: (pem: string) => KeyObject, issues: IssueList): KeyObject | undefined {
  const path = configRelative(configPath, file);
  const pem = readConfigFile(path, at, issues);
  if (pem === undefined) return undefined;
  try {
    return parse(pem.toString('utf8'));
  } catch (e) {
    issues.add(at, `${path} is not an ed25519 key in PEM: ${(e as Error).message}`);
    return undefined;
  }
}

/** evaluator.mode remote needs a url and a key; the key is read here, so a missing one fails the config. */
function evaluatorKey(c: Config, issues: IssueList, secrets: { configPath: string }): string | undefined {
  const ev = c.evaluator;
  if (ev.bundle !== undefined) {
    if (ev.mode !== 'local') issues.add(['evaluator', 'bundle'], 'only with mode local: an edge either asks the control plane per decision (remote) or runs its bundle (local)');
    if (ev.api_key === undefined) {
      issues.add(['evaluator', 'api_key'], 'is required with bundle: a key of the control plane (role gateway on an ascend-sidecar)');
      return undefined;
    }
    return headerSafe(resolveSecret(ev.api_key, ['evaluator', 'api_key'], issues, secrets), issues);
  }
  if (ev.mode !== 'remote') return undefined;
  if (ev.url === undefined) issues.add(['evaluator', 'url'], 'is required with mode remote: the control plane base URL, e.g. http://control-plane:8181');
  if (ev.api_key === undefined) {
    issues.add(['evaluator', 'api_key'], 'is required with mode remote: a key of the control plane (role gateway on an ascend-sidecar)');
    return undefined;
  }
  return headerSafe(resolveSecret(ev.api_key, ['evaluator', 'api_key'], issues, secrets), issues);
}

/** The key is sent as an x-api-key header: printable ASCII only. */
function headerSafe(key: string | undefined, issues: IssueList): string | undefined {
  if (key === undefined || !/[^\t\x20-\x7e]/.test(key)) return key;
  issues.add(['evaluator', 'api_key'], 'must be printable ASCII (it is sent as the x-api-key header); a line break or control character is not');
  return undefined;
}

function normalizeOptions(c: Config): NormalizeOptions {
  const n = c.normalization;
  return {
    path: { encodedSlashes: n.encoded_slashes },
    methods: n.unknown_methods === 'allow' ? undefined : new Set([...STANDARD_METHODS, ...n.extra_methods.map((m) => m.toUpperCase())]),
    methodOverride: n.method_override,
    queryKeys: queryKeysRead(c.routes, c.policies),
  };
}

function duplicates(ids: readonly string[]): Map<string, number[]> {
  const at = new Map<string, number[]>();
  ids.forEach((id, i) => at.set(id, [...(at.get(id) ?? []), i]));
  return new Map([...at].filter(([, idx]) => idx.length > 1));
}

/**
 * Names that index a map (workflows, policies, routes, agents, risk tables) must not be the
 * name of a property every JavaScript object inherits: a workflow called `toString` would
 * otherwise resolve to Object.prototype.toString somewhere and fail every request it matches.
 */
export function isReservedName(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(Object.prototype, name);
}

function reservedNames(c: Config, issues: IssueList): void {
  const check = (name: string | undefined, at: (string | number)[]) => {
    if (name !== undefined && isReservedName(name)) issues.add(at, `"${name}" is reserved (a property of every JavaScript object): choose another name`);
  };
  for (const name of Object.keys(c.workflows ?? {})) check(name, ['workflows', name]);
  c.policies.forEach((p, i) => {
    check(p.id, ['policies', i, 'id']);
    check(p.workflow, ['policies', i, 'workflow']);
  });
  c.routes.forEach((r, i) => check(r.name, ['routes', i, 'name']));
  c.agents.forEach((a, i) => check(a.id, ['agents', i, 'id']));
  for (const name of Object.keys(c.risk.environments)) check(name, ['risk', 'environments', name]);
  for (const name of Object.keys(c.risk.agent_types)) check(name, ['risk', 'agent_types', name]);
}

/** A/B tests name two different, enabled policies of this config, and unique names. */
function abTestChecks(c: Config, issues: IssueList): void {
  const enabled = new Set(c.policies.filter((p) => p.enabled).map((p) => p.id));
  c.ab_tests.forEach((t, i) => {
    for (const field of ['control_policy', 'test_policy'] as const) {
      if (!enabled.has(t[field])) issues.add(['ab_tests', i, field], `no enabled policy "${t[field]}"`);
    }
    if (t.control_policy === t.test_policy) issues.add(['ab_tests', i, 'test_policy'], 'must differ from control_policy');
    if (t.start !== undefined && Number.isNaN(Date.parse(t.start))) issues.add(['ab_tests', i, 'start'], `"${t.start}" is not an ISO 8601 date-time`);
    const first = c.ab_tests.findIndex((o) => o.name === t.name);
    if (first < i) issues.add(['ab_tests', i, 'name'], `duplicate A/B test name "${t.name}" (ab_tests[${first}])`);
  });
}

function crossChecks(c: Config, issues: IssueList): void {
  reservedNames(c, issues);
  for (const [id, idx] of duplicates(c.policies.map((p) => p.id))) {
    for (const i of idx.slice(1)) issues.add(['policies', i, 'id'], `duplicate policy id "${id}"`);
  }
  for (const [id, idx] of duplicates(c.agents.map((a) => a.id))) {
    for (const i of idx.slice(1)) issues.add(['agents', i, 'id'], `duplicate agent id "${id}"`);
  }
  const { gateway_http_port: gatewayPort, http_port: httpPort, grpc_port: grpcPort } = c.server;
  if (gatewayPort !== undefined && gatewayPort !== 0 && (gatewayPort === httpPort || gatewayPort === grpcPort)) {
    issues.add(['server', 'gateway_http_port'], `must differ from ${gatewayPort === httpPort ? 'http_port' : 'grpc_port'} (${gatewayPort}): the gateway endpoints get a listener of their own`);
  }
  abTestChecks(c, issues);
  c.webhooks.forEach((w, i) => {
    // The url is often a secret (a token in its path): the error names where, not what.
    const first = c.webhooks.findIndex((o) => o.url === w.url);
    if (first < i) issues.add(['webhooks', i, 'url'], `duplicate webhook url ${maskUrl(w.url)} (the same as webhooks[${first}].url; one subscription per url)`);
  });
}

/** `steps[0].approvers: at least one…` → (['steps', 0, 'approvers'], 'at least one…') */
function splitProblem(problem: string): { field: (string | number)[]; message: string } {
  const at = problem.indexOf(': ');
  if (at < 0) return { field: [], message: problem };
  const field = problem.slice(0, at).split(/[.[\]]+/).filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  return { field, message: problem.slice(at + 2) };
}

/** Checks every named workflow and resolves the one each require_approval policy asks for. */
function resolveWorkflows(c: Config, settings: ApprovalSettings, issues: IssueList): Map<string, WorkflowDefinition> {
  const named = c.workflows ?? {};
  for (const [name, wf] of Object.entries(named)) {
    for (const problem of validateWorkflow(wf)) {
      const { field, message } = splitProblem(problem);
      issues.add(['workflows', name, ...field], message);
    }
  }
  const out = new Map<string, WorkflowDefinition>();
  c.policies.forEach((p, i) => {
    if (p.action !== 'require_approval') return;
    try {
      out.set(p.id, resolveWorkflow(p, named, settings.default_timeout_hours));
    } catch (e) {
      const { field, message } = splitProblem((e as Error).message);
      // An invalid named workflow is reported at its own path, a missing approvers list by compilePolicy.
      if (field[0] === 'workflow' && !/^(steps|escalation)/.test(message)) issues.add(['policies', i, 'workflow'], message);
    }
  });
  return out;
}

/** Compiles a validated config. Throws {@link ConfigError} listing every problem. */
export function compileRuntime(config: Config, opts: { version: number; hash: string; source: string }): Runtime {
  const issues = new IssueList();
  crossChecks(config, issues);
  const settings = approvalSettings(config.approvals);
  const workflows = resolveWorkflows(config, settings, issues);
  const secrets = { configPath: opts.source };
  const apiKeys = ApiKeyTable.compile(config.api_keys, issues, { rateLimit: config.api.rate_limit, secrets });
  const remoteKey = evaluatorKey(config, issues, secrets);
  const evaluatorTls = readClientTls(config.evaluator, opts.source, issues);
  const bundleSigner = config.bundles === undefined ? undefined : readKey(config.bundles.signing_key_file, ['bundles', 'signing_key_file'], opts.source, ed25519PrivateKey, issues);
  const bundleKey = config.evaluator.bundle === undefined ? undefined : readKey(config.evaluator.bundle.public_key_file, ['evaluator', 'bundle', 'public_key_file'], opts.source, ed25519PublicKey, issues);
  const webhooks = config.webhooks.map((w, i) => ({ ...w, secret: resolveSecret(w.secret, ['webhooks', i, 'secret'], issues, secrets) ?? '' }));
  const tracingHeaders = Object.fromEntries(Object.entries(config.tracing.headers).map(([name, v]) => [name, resolveSecret(v, ['tracing', 'headers', name], issues, secrets) ?? '']));
  const storeUrl = resolveStoreUrl(config, issues, secrets);
  const agents = new AgentRegistry(config.agents);
  const identity = compileIdentity(config.identity.sources, issues, config.identity.require_verified);
  const routes = config.routes.map((r, i) => compileRoute(r, i, issues)).filter((r): r is CompiledRoute => r !== undefined);
  const risk = new RiskModel(config.risk);
  const engine = PolicyEngine.compile(config.policies, risk, {
    defaultDecision: config.default_decision,
    mode: config.mode,
    deniedStatus: config.responses.denied_status,
    pendingStatus: config.responses.pending_status,
  }, issues);
  const trustedProxies = compileTrustedProxies(config.forward_auth.trusted_proxies, issues, ['forward_auth', 'trusted_proxies']);
  const gatewayAccess = compileGatewayAccess(config.gateway_access, { configPath: opts.source }, issues);
  checkTls(config.server, opts.source, issues);
  if (issues.items.length > 0) throw new ConfigError(opts.source, issues.items);
  return Object.freeze({
    version: opts.version,
    hash: opts.hash,
    source: opts.source,
    config,
    normalize: normalizeOptions(config),
    mapper: new Mapper(new RouteTable(routes), identity, agents, {
      body: { maxBytes: config.limits.max_body_bytes, maxDepth: config.limits.max_json_depth },
      policiesReadBody: [...engine.reads].some((p) => p === 'body' || p.startsWith('body.')),
    }),
    engine,
    fingerprint: createFingerprinter(opts.version, engine.reads),
    bind: createActionBinder(config.policies, workflows, engine.reads),
    routeCount: routes.length,
    requestFacts: factsRead(engine.reads),
    workflows,
    approvalSettings: settings,
    apiKeys,
    webhooks,
    tracingHeaders,
    trustedProxies,
    redaction: new Redaction(config.decision_log.redact),
    gatewayAccess,
    evaluatorKey: remoteKey,
    evaluatorTls,
    bundleSigner: bundleSigner === undefined || config.bundles === undefined ? undefined : { key: bundleSigner, names: new Set(config.bundles.names) },
    bundleKey,
    storeUrl,
  });
}

/** The environment variable that holds the PostgreSQL URL when store.url is absent. */
export const STORE_URL_ENV = 'ASCEND_STORE_URL';

/** store.url (or ASCEND_STORE_URL) for driver postgres; issues name the field, never the password. */
function resolveStoreUrl(config: Config, issues: IssueList, secrets: { configPath: string }): string | undefined {
  const s = config.store;
  if (!s) return undefined;
  if (s.driver !== 'postgres') {
    if (s.url !== undefined) issues.add(['store', 'url'], 'is for driver: postgres (set store.driver: postgres, or remove url to keep the SQLite file)');
    return undefined;
  }
  const fromEnv = process.env[STORE_URL_ENV];
  const url = s.url !== undefined ? resolveSecret(s.url, ['store', 'url'], issues, secrets) : fromEnv || undefined;
  if (url === undefined) {
    if (s.url === undefined) issues.add(['store', 'url'], `driver postgres needs a connection URL: set store.url (a value, {env: NAME} or {file: PATH}) or the environment variable ${STORE_URL_ENV}`);
    return undefined;
  }
  if (!/^postgres(ql)?:\/\/[^/]/.test(url)) {
    issues.add(['store', 'url'], `must be a postgres:// or postgresql:// URL${s.url === undefined ? ` (from ${STORE_URL_ENV})` : ''}`);
    return undefined;
  }
  return url;
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** YAML text → runtime, with line numbers added to compile-stage issues. */
export function runtimeFromText(text: string, source: string, version: number): Runtime {
  const parsed = parseConfig(text, source);
  try {
    return compileRuntime(parsed.config, { version, hash: hashText(text), source });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new ConfigError(
      source,
      e.issues.map((i) => ({ ...i, ...(i.segments ? locate(parsed.doc, parsed.lineCounter, i.segments) : {}) })),
    );
  }
}
