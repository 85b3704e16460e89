/**
 * API keys: configured as SHA-256 hex digests, presented in `X-API-Key`. A presented key is
 * hashed once and compared with every configured digest by `crypto.timingSafeEqual` (no early
 * exit), so neither the comparison nor the loop tells an attacker how close a guess was.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IssueList } from '../config/errors.js';
import type { ApiKeyConfig } from '../config/schema.js';

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

export class ApiKeyTable {
  private constructor(private readonly entries: readonly { digest: Buffer; principal: ApiPrincipal }[]) {}

  /** Compiles `api_keys`, reporting role/field mismatches and duplicates with their paths. */
  static compile(keys: readonly ApiKeyConfig[], issues: IssueList): ApiKeyTable {
    const names = new Set<string>();
    const digests = new Set<string>();
    keys.forEach((k, i) => {
      if (names.has(k.name)) issues.add(['api_keys', i, 'name'], `duplicate api key name "${k.name}"`);
      if (digests.has(k.sha256)) issues.add(['api_keys', i, 'sha256'], 'the same key is configured twice');
      names.add(k.name);
      digests.add(k.sha256);
      if (k.role === 'agent' && k.agent_id === undefined) issues.add(['api_keys', i, 'agent_id'], 'an agent key must name its agent_id');
      if (k.role !== 'agent' && k.agent_id !== undefined) issues.add(['api_keys', i, 'agent_id'], 'only agent keys take an agent_id');
      if (k.role === 'approver' && k.groups === undefined) issues.add(['api_keys', i, 'groups'], 'an approver key needs its approver groups');
    });
    return new ApiKeyTable(keys.map((k) => ({
      digest: Buffer.from(k.sha256, 'hex'),
      principal: Object.freeze({ name: k.name, role: k.role, groups: Object.freeze([...(k.groups ?? [])]), agentId: k.agent_id }),
    })));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal for a presented key, or undefined for a missing or unknown one. */
  authenticate(key: string | undefined): ApiPrincipal | undefined {
    if (key === undefined || key === '') return undefined;
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: ApiPrincipal | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, digest)) found = e.principal;
    }
    return found;
  }
}
