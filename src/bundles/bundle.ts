/**
 * Signed policy bundles: what a control plane decides with — its policies, routes, agents, risk
 * model, workflows, default decision and mode — for edges that decide locally with central
 * policy (evaluator.mode local with `bundle:`). Never keys or secrets: a bundle is built from
 * these fields only, never from the whole config.
 *
 * On the wire, an envelope `{format, payload, signature}`: `payload` is the bundle as a JSON
 * string, `signature` its ed25519 signature (base64) over the payload's UTF-8 bytes, so the edge
 * verifies exactly the bytes it will parse, and keeps the envelope on disk as it came. The
 * revision (and ETag) is the SHA-256 of the payload.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Config } from '../config/schema.js';

export const BUNDLE_FORMAT = 'ascend-bundle/v1';

/** The config fields a bundle carries (and an edge takes from it instead of its own file). */
export const BUNDLE_FIELDS = ['default_decision', 'mode', 'agents', 'routes', 'policies', 'risk', 'workflows'] as const;
export type BundleField = (typeof BUNDLE_FIELDS)[number];

export interface BundlePayload {
  readonly format: typeof BUNDLE_FORMAT;
  readonly name: string;
  /** The control plane's config hash when the bundle was built (for logs). */
  readonly source_hash: string;
  readonly content: Partial<Record<BundleField, unknown>>;
}

export interface BundleEnvelope {
  readonly format: typeof BUNDLE_FORMAT;
  readonly payload: string;
  readonly signature: string;
}

export interface SignedBundle {
  readonly envelope: BundleEnvelope;
  /** The envelope as served (and persisted). */
  readonly body: string;
  /** SHA-256 of the payload, hex: the revision, and the ETag (quoted). */
  readonly revision: string;
}

/** Why a bundle was refused. */
export type BundleRefusal = 'malformed' | 'signature' | 'wrong_name' | 'invalid';

export class BundleError extends Error {
  constructor(readonly reason: BundleRefusal, message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** The bundle of a config: only BUNDLE_FIELDS, copied. */
export function bundleContent(c: Config): BundlePayload['content'] {
  const out: Record<string, unknown> = {};
  for (const f of BUNDLE_FIELDS) if (c[f] !== undefined) out[f] = c[f];
  return structuredClone(out);
}

export function signBundle(name: string, c: Config, sourceHash: string, key: KeyObject): SignedBundle {
  const payload: BundlePayload = { format: BUNDLE_FORMAT, name, source_hash: sourceHash, content: bundleContent(c) };
  const text = JSON.stringify(payload);
  const envelope: BundleEnvelope = { format: BUNDLE_FORMAT, payload: text, signature: sign(null, Buffer.from(text, 'utf8'), key).toString('base64') };
  return { envelope, body: JSON.stringify(envelope), revision: revisionOf(text) };
}

export function revisionOf(payload: string): string {
  return createHash('sha256').update(payload, 'utf8').digest('hex');
}

/**
 * Verifies an envelope's signature, then parses its payload: the signature is checked before a
 * byte of the payload is interpreted. Throws {@link BundleError}.
 */
export function openBundle(body: string, publicKey: KeyObject, name: string): { payload: BundlePayload; revision: string } {
  let env: Partial<BundleEnvelope>;
  try {
    env = JSON.parse(body) as Partial<BundleEnvelope>;
  } catch {
    throw new BundleError('malformed', 'not JSON');
  }
  if (env === null || typeof env !== 'object' || env.format !== BUNDLE_FORMAT || typeof env.payload !== 'string' || typeof env.signature !== 'string') {
    throw new BundleError('malformed', `not an ${BUNDLE_FORMAT} envelope {format, payload, signature}`);
  }
  const sig = Buffer.from(env.signature, 'base64');
  let ok = false;
  try {
    ok = sig.length === 64 && verify(null, Buffer.from(env.payload, 'utf8'), publicKey, sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new BundleError('signature', 'the signature does not verify with bundle.public_key_file');
  let payload: BundlePayload;
  try {
    payload = JSON.parse(env.payload) as BundlePayload;
  } catch {
    throw new BundleError('malformed', 'the signed payload is not JSON');
  }
  if (payload === null || typeof payload !== 'object' || payload.format !== BUNDLE_FORMAT || payload.content === null || typeof payload.content !== 'object' || Array.isArray(payload.content)) {
    throw new BundleError('malformed', 'the signed payload is not a bundle {format, name, content}');
  }
  // A bundle signed for another name (another fleet's) is not this edge's to run.
  if (payload.name !== name) throw new BundleError('wrong_name', `the bundle is "${payload.name}", this edge polls "${name}"`);
  const extra = Object.keys(payload.content).filter((k) => !(BUNDLE_FIELDS as readonly string[]).includes(k));
  if (extra.length > 0) throw new BundleError('invalid', `the bundle carries fields a bundle may not set: ${extra.join(', ')}`);
  return { payload, revision: revisionOf(env.payload) };
}

/** An ed25519 private key (PKCS#8 PEM) → KeyObject; throws a message naming what is wrong. */
export function ed25519PrivateKey(pem: string): KeyObject {
  const k = createPrivateKey(pem);
  if (k.asymmetricKeyType !== 'ed25519') throw new Error(`an ${k.asymmetricKeyType} key, not ed25519`);
  return k;
}

/** An ed25519 public key (SPKI PEM; a private key's PEM also gives its public half). */
export function ed25519PublicKey(pem: string): KeyObject {
  const k = createPublicKey(pem);
  if (k.asymmetricKeyType !== 'ed25519') throw new Error(`an ${k.asymmetricKeyType} key, not ed25519`);
  return k;
}
