/**
 * The edge's side of policy bundles (evaluator.bundle): poll the control plane with
 * If-None-Match, verify the signature before anything is parsed, compose the bundle with this
 * sidecar's own config file (the bundle's fields replace the file's: bundle.ts BUNDLE_FIELDS),
 * compile it like a reload, and swap it in — a new config version, so the decision cache cannot
 * serve an answer of the old bundle. The envelope is kept on disk as received, so a cold start
 * while the control plane is down runs the last good bundle (verified again). A bundle that
 * does not verify or does not compile is refused, logged and counted; the running policy stays.
 * /readyz is false until a bundle is active (control.ts: the readiness gate, and reloads).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { parse } from 'yaml';
import { ConfigError, formatIssue } from '../config/errors.js';
import { runtimeFromText, type Runtime } from '../config/runtime.js';
import type { BundleClientConfig } from '../config/schema.js';
import { connectOptions } from '../evaluator/client-tls.js';
import type { RuntimeState } from '../pipeline/state.js';
import { BUNDLE_FIELDS, BundleError, openBundle, type BundlePayload } from './bundle.js';

export type PollResult =
  | 'activated' | 'not_modified' | 'unchanged' | 'fetch_failed'
  | 'refused_malformed' | 'refused_signature' | 'refused_wrong_name' | 'refused_invalid';
const RESULTS: readonly PollResult[] = ['activated', 'not_modified', 'unchanged', 'fetch_failed', 'refused_malformed', 'refused_signature', 'refused_wrong_name', 'refused_invalid'];

/** Registered on every sidecar (zeros without a bundle), so dashboards and alerts find the series. */
export class BundleMetrics {
  private readonly results: Counter<'result'>;
  readonly active: Gauge;
  readonly activatedAt: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.results = new Counter({ name: 'ascend_bundle_updates_total', help: 'Policy bundle polls and loads (evaluator.bundle) by result; refused_* kept the running policy', labelNames: ['result'], registers });
    this.active = new Gauge({ name: 'ascend_bundle_active', help: '1 once a verified policy bundle is active (readiness), else 0', registers, aggregator: 'min' });
    this.activatedAt = new Gauge({ name: 'ascend_bundle_last_activation_timestamp_seconds', help: 'When the active policy bundle was activated', registers, aggregator: 'min' });
    for (const r of RESULTS) this.results.labels(r).inc(0);
  }

  count(r: PollResult): void {
    this.results.labels(r).inc();
  }
}

/** The edge's own config text with the bundle's fields in place of its own, as JSON (a YAML subset). */
export function composeText(ownText: string, content: BundlePayload['content'] | undefined): string {
  if (content === undefined) return ownText;
  const own = parse(ownText, { maxAliasCount: 1000 }) as Record<string, unknown> | null;
  const out: Record<string, unknown> = { ...(own ?? {}) };
  for (const f of BUNDLE_FIELDS) {
    if (content[f] === undefined) delete out[f];
    else out[f] = content[f];
  }
  return JSON.stringify(out);
}

export class BundleClient {
  private payload: BundlePayload | undefined;
  private revision: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The connections of evaluator.tls; rebuilt when a reload changes its files. */
  private agent: { digest: string; agent: Agent } | undefined;

  constructor(
    private readonly configPath: string,
    private readonly state: RuntimeState,
    private readonly metrics: BundleMetrics,
    private readonly logger: Logger,
    /** Called after a bundle is activated (gRPC health watchers are told). */
    private readonly onActivated: () => void = () => {},
  ) {
    this.metrics.active.set(0);
  }

  /** The settings of the running config (a reload may change the url, key or interval). */
  private get settings(): BundleClientConfig | undefined {
    return this.state.runtime.config.evaluator.bundle;
  }

  private get name(): string {
    const url = new URL(this.settings?.url ?? 'http://invalid/');
    return decodeURIComponent(url.pathname.split('/').filter(Boolean).at(-1) ?? '');
  }

  /** For /readyz. */
  get ready(): boolean {
    return this.revision !== undefined;
  }

  get activeRevision(): string | undefined {
    return this.revision;
  }

  /** Runs the bundle kept on disk, if there is one and it still verifies. Returns whether one is active. */
  coldStart(): boolean {
    const s = this.settings;
    if (s === undefined) return false;
    let text: string;
    try {
      text = readFileSync(s.cache_file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ err: e, cache_file: s.cache_file }, 'cannot read the kept policy bundle');
      return false;
    }
    this.accept(text, 'disk');
    return this.ready;
  }

  /** Polls now, then every poll_interval_s, until stop(). */
  start(): void {
    const loop = async (): Promise<void> => {
      await this.poll();
      if (!this.stopped) this.timer = setTimeout(() => void loop(), (this.settings?.poll_interval_s ?? 30) * 1000);
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    void this.agent?.agent.close().catch(() => undefined);
    this.agent = undefined;
  }

  /** undici's global dispatcher without evaluator.tls; else an Agent with its CA and client certificate. */
  private dispatcher(): Agent | undefined {
    const tls = this.state.runtime.evaluatorTls;
    if (tls === undefined) return undefined;
    if (this.agent?.digest !== tls.digest) {
      void this.agent?.agent.close().catch(() => undefined);
      this.agent = { digest: tls.digest, agent: new Agent({ connect: connectOptions(tls) }) };
    }
    return this.agent.agent;
  }

  /** One poll: 304 keeps what runs; 200 is verified and activated, or refused. Never throws. */
  async poll(): Promise<PollResult> {
    const s = this.settings;
    const key = this.state.runtime.evaluatorKey;
    if (s === undefined || key === undefined) return 'fetch_failed';
    let status: number;
    let text: string;
    try {
      const res = await request(s.url, {
        dispatcher: this.dispatcher(),
        method: 'GET',
        headers: { 'x-api-key': key, accept: 'application/json', ...(this.revision !== undefined ? { 'if-none-match': `"${this.revision}"` } : {}) },
        signal: AbortSignal.timeout(s.timeout_ms),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      this.metrics.count('fetch_failed');
      this.logger.warn({ err: e, url: s.url, active: this.revision ?? null }, 'policy bundle poll failed; the running policy stays');
      return 'fetch_failed';
    }
    if (status === 304) {
      this.metrics.count('not_modified');
      return 'not_modified';
    }
    if (status !== 200) {
      this.metrics.count('fetch_failed');
      this.logger.warn({ url: s.url, status, body: text.slice(0, 200), active: this.revision ?? null }, 'policy bundle poll answered an error; the running policy stays');
      return 'fetch_failed';
    }
    return this.accept(text, 'poll');
  }

  /** Verifies, composes, compiles and swaps in an envelope; keeps it on disk when it came from the control plane. */
  private accept(body: string, from: 'poll' | 'disk'): PollResult {
    const s = this.settings;
    const publicKey = this.state.runtime.bundleKey;
    if (s === undefined || publicKey === undefined) return 'refused_invalid';
    let opened: { payload: BundlePayload; revision: string };
    try {
      opened = openBundle(body, publicKey, this.name);
    } catch (e) {
      const reason = e instanceof BundleError ? e.reason : 'malformed';
      return this.refuse(`refused_${reason}`, (e as Error).message, from);
    }
    if (opened.revision === this.revision) {
      this.metrics.count('unchanged');
      return 'unchanged';
    }
    let runtime: Runtime;
    try {
      runtime = this.compile(opened.payload, this.state.runtime.version + 1).runtime;
    } catch (e) {
      const issues = e instanceof ConfigError ? e.issues.map(formatIssue) : [(e as Error).message];
      return this.refuse('refused_invalid', issues.join('; '), from);
    }
    this.state.swap(runtime);
    this.payload = opened.payload;
    this.revision = opened.revision;
    this.metrics.count('activated');
    this.metrics.active.set(1);
    this.metrics.activatedAt.set(Date.now() / 1000);
    this.logger.info({ from, revision: opened.revision, name: opened.payload.name, source_hash: opened.payload.source_hash, version: runtime.version, policies: runtime.engine.policies.length }, 'policy bundle activated');
    if (from === 'poll') this.keep(s.cache_file, body);
    this.onActivated();
    return 'activated';
  }

  private refuse(result: PollResult, why: string, from: 'poll' | 'disk'): PollResult {
    this.metrics.count(result);
    this.logger.error({ from, result, reason: why, active: this.revision ?? null }, 'policy bundle refused; the running policy stays');
    return result;
  }

  /** The edge's file composed with `payload` (or the active bundle), compiled. Throws ConfigError. */
  private compile(payload: BundlePayload | undefined, version: number): { runtime: Runtime; text: string } {
    const own = readFileSync(this.configPath, 'utf8');
    const text = composeText(own, payload?.content);
    return { runtime: runtimeFromText(text, this.configPath, version), text };
  }

  /** For the config reloader: the edge's file, with the active bundle in place. */
  load = async (_path: string, version: number): Promise<{ runtime: Runtime; text: string }> => this.compile(this.payload, version);

  private keep(file: string, body: string): void {
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, body);
      renameSync(tmp, file);
    } catch (e) {
      this.logger.warn({ err: e, cache_file: file }, 'cannot keep the policy bundle on disk; a cold start will wait for the control plane');
    }
  }
}

