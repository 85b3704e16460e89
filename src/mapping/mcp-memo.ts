/**
 * The parsed MCP messages of recent request bodies, by their exact text, so a repeated
 * `tools/call` (a retry, a replay, a polling agent) is not parsed again: JSON.parse, the depth
 * scan, the JSON-RPC checks and, above all, the SHA-256 of the text that stands for the
 * arguments in the decision-cache key (EvalInput.parametersKey) all happen once per text.
 *
 * Exactness: an entry is used only when the request's text is `===` the text it was parsed
 * from, on the same route (its `mcp.govern` and `mcp.max_batch`); the limits and the partial
 * mark are checked before the memo is asked (mapping/mapper.ts), and a memo lives and dies with
 * its Mapper, i.e. one config version. Any other text — another JSON-RPC `id`, other whitespace,
 * members in another order — is a miss, parsed as if there were no memo. So a memo hit and a
 * miss give the same calls, the same parsed body and the same key, and the memo can change no
 * decision. Texts that fail to parse are not kept: their error is built again each time.
 *
 * Lookup cost: a slot chosen from the length and 16 characters sampled across the text (no
 * pass over the whole text; hashing 4 KiB with V8's string hash, as a Map keyed by the text
 * would, costs 7 µs here, SHA-256 3 µs), then one comparison. Texts that share a slot replace
 * each other; someone who crafts such texts can only turn hits into misses. Bounded: at most
 * `capacity` entries of at most `maxChars` characters each (oldest slot evicted first), and the
 * parsed values are deep-frozen when a second request shares them.
 */
import { hash } from 'node:crypto';
import type { RequestBody } from '../core/action.js';
import type { McpMessage } from './mcp.js';

export interface McpParsed {
  readonly body: RequestBody;
  readonly message: McpMessage;
  /** SHA-256 of the text (32 latin1 characters): the arguments' stand-in in the cache key. */
  readonly digest: string;
}

class Entry implements McpParsed {
  /** Deep-frozen once a second request shares it (nothing mutates them; this makes sure). */
  frozen = false;

  constructor(
    readonly owner: object,
    readonly text: string,
    readonly body: RequestBody,
    readonly message: McpMessage,
    readonly digest: string,
  ) {}
}

const SAMPLES = 16;

/** A slot number from the length and SAMPLES characters spread over the text, the last included. */
function slotOf(text: string): number {
  const n = text.length;
  const step = n > SAMPLES ? Math.floor(n / SAMPLES) : 1;
  let h = n;
  for (let i = n - 1, k = 0; i >= 0 && k < SAMPLES; i -= step, k++) h = Math.imul(h ^ text.charCodeAt(i), 0x9e3779b1);
  return h;
}

/** The SHA-256 of a body text, as the memo keeps it (for texts it does not keep). */
export function bodyDigest(text: string): string {
  return hash('sha256', text, 'binary');
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
}

export class McpMemo {
  private readonly slots = new Map<number, Entry>();

  constructor(
    private readonly capacity = 128,
    private readonly maxChars = 16 * 1024,
  ) {}

  /** The parse of `text` under `owner` (a route), when it is kept. */
  get(owner: object, text: string): McpParsed | undefined {
    if (text.length > this.maxChars) return undefined;
    const e = this.slots.get(slotOf(text));
    if (e === undefined || e.owner !== owner || e.text !== text) return undefined;
    if (!e.frozen) {
      deepFreeze(e.body);
      deepFreeze(e.message);
      e.frozen = true;
    }
    return e;
  }

  /** Keeps the parse of `text` (whose digest it computes) and returns it. */
  put(owner: object, text: string, body: RequestBody, message: McpMessage): McpParsed {
    const e = new Entry(owner, text, body, message, bodyDigest(text));
    if (text.length > this.maxChars) return e;
    const slot = slotOf(text);
    // A slot keeps its place in the eviction order when its text changes: no delete and re-insert.
    if (!this.slots.has(slot) && this.slots.size >= this.capacity) this.evictOldest();
    this.slots.set(slot, e);
    return e;
  }

  private evictOldest(): void {
    for (const k of this.slots.keys()) {
      this.slots.delete(k);
      return;
    }
  }
}
