/**
 * API keys: configured as SHA-256 hex digests, presented in `X-API-Key`. A presented key is
 * hashed once and compared with every configured digest by `crypto.timingSafeEqual` (no early
 * exit), so neither the comparison nor the loop tells an attacker how close a guess was.
 * A key that matched is remembered (its bytes, beside its digest, until the next reload) and
 * later compared as bytes, again with `timingSafeEqual` against every remembered key: the
 * SHA-256 cost 2.4 µs a request, the comparison 0.2 µs (bench/README.md, optimizations log).
 * Per key, by name: the signing secret its requests are signed with (read here, so a missing
 * variable or file fails the config) and its rate limit (its own, else `api.rate_limit`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IssueList } from '../config/errors.js';
import type { ApiKeyConfig, RateLimitConfig } from '../config/schema.js';
import { resolveSecret, type SecretSources } from '../config/secrets.js';

export type Role = ApiKeyConfig['role'];

/** Who is calling: the key's configured identity, never the key itself. */
export interface ApiPrincipal {
  readonly name: string;
  readonly role: Role;
  readonly groups: readonly string[];
  /** agent keys: the only agent they may act as. */
  readonly agentId: string | undefined;
}

export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key (256 bits, base64url) with its digest, for `hash-key --generate`. */
export function generateKey(): { key: string; sha256: string } {
  const key = `ask_${randomBytes(32).toString('base64url')}`;
  return { key, sha256: sha256Hex(key) };
}

/** What a key's requests must satisfy besides the role check. */
export interface KeyRules {
  readonly signingSecret: string | undefined;
  readonly rateLimit: RateLimitConfig | undefined;
}

export interface KeyTableOptions {
  /** `api.rate_limit`: every key's limit unless it sets its own. */
  readonly rateLimit?: RateLimitConfig | undefined;
  readonly secrets?: SecretSources;
}

const NO_RULES: KeyRules = { signingSecret: undefined, rateLimit: undefined };

const DIGEST = /^[0-9a-f]{64}$/;

/** The key's digest in hex: inline, or read from a variable or a file (then checked: 64 hex digits). */
function digestOf(value: ApiKeyConfig['sha256'], i: number, issues: IssueList, secrets: SecretSources | undefined): string {
  const at = ['api_keys', i, 'sha256'];
  const v = resolveSecret(value, at, issues, secrets)?.trim().toLowerCase();
  if (v === undefined) return '';
  if (!DIGEST.test(v)) {
    issues.add(typeof value === 'string' ? at : [...at, 'env' in value ? 'env' : 'file'], 'must hold a SHA-256 digest: 64 hex digits (`ascend-sidecar hash-key`)');
    return '';
  }
  return v;
}

interface KeyEntry {
  readonly digest: Buffer;
  readonly principal: ApiPrincipal;
  /** The key itself (UTF-8), once a presented key matched the digest. */
  verified: Buffer | undefined;
}

export class ApiKeyTable {
  private constructor(
    private readonly entries: readonly KeyEntry[],
    private readonly rulesByName: ReadonlyMap<string, KeyRules>,
  ) {}

  /** Compiles `api_keys`, reporting role/field mismatches, duplicates and unreadable secrets with their paths. */
  static compile(keys: readonly ApiKeyConfig[], issues: IssueList, options: KeyTableOptions = {}): ApiKeyTable {
    const names = new Set<string>();
    const digests = new Set<string>();
    const hex = keys.map((k, i) => digestOf(k.sha256, i, issues, options.secrets));
    keys.forEach((k, i) => {
      if (names.has(k.name)) issues.add(['api_keys', i, 'name'], `duplicate api key name "${k.name}"`);
      const d = hex[i] as string;
      if (d !== '' && digests.has(d)) issues.add(['api_keys', i, 'sha256'], 'the same key is configured twice');
      names.add(k.name);
      digests.add(d);
      if (k.role === 'agent' && k.agent_id === undefined) issues.add(['api_keys', i, 'agent_id'], 'an agent key must name its agent_id');
      if (k.role !== 'agent' && k.agent_id !== undefined) issues.add(['api_keys', i, 'agent_id'], 'only agent keys take an agent_id');
      if (k.role === 'approver' && k.groups === undefined) issues.add(['api_keys', i, 'groups'], 'an approver key needs its approver groups');
    });
    const rules = new Map(keys.map((k, i) => [k.name, Object.freeze({
      signingSecret: k.signing_secret === undefined ? undefined : resolveSecret(k.signing_secret, ['api_keys', i, 'signing_secret'], issues, options.secrets),
      rateLimit: k.rate_limit ?? options.rateLimit,
    })]));
    return new ApiKeyTable(keys.map((k, i) => ({
      digest: Buffer.from(hex[i] as string, 'hex'),
      principal: Object.freeze({ name: k.name, role: k.role, groups: Object.freeze([...(k.groups ?? [])]), agentId: k.agent_id }),
      verified: undefined,
    })), rules);
  }

  /** The signing secret and rate limit of the key named `name`. */
  rules(name: string): KeyRules {
    return this.rulesByName.get(name) ?? NO_RULES;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal of the key named `name` (a console session's key), if it is still configured. */
  named(name: string): ApiPrincipal | undefined {
    return this.entries.find((e) => e.principal.name === name)?.principal;
  }

  /** The principal for a presented key, or undefined for a missing or unknown one. */
  authenticate(key: string | undefined): ApiPrincipal | undefined {
    if (key === undefined || key === '') return undefined;
    const bytes = Buffer.from(key, 'utf8');
    let found: ApiPrincipal | undefined;
    for (const e of this.entries) {
      const v = e.verified;
      if (v === undefined) continue;
      // A key of another length is compared with itself: the same work, so the time taken
      // does not tell whether the lengths matched.
      const same = v.length === bytes.length;
      if (timingSafeEqual(v, same ? bytes : v) && same) found = e.principal;
    }
    if (found !== undefined) return found;
    const digest = createHash('sha256').update(bytes).digest();
    let entry: KeyEntry | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, digest)) entry = e;
    }
    if (entry === undefined) return undefined;
    entry.verified = bytes;
    return entry.principal;
  }
}
