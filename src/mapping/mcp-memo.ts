/**
 * The parsed MCP messages of recent request bodies, so a repeated `tools/call` is not parsed
 * again: JSON.parse, the depth scan, the JSON-RPC checks and, above all, the SHA-256 that stands
 * for the arguments in the decision-cache key (EvalInput.parametersKey) happen once per body.
 *
 * Two ways to find an entry, both on the same route only (its `mcp.govern`, `mcp.max_batch`):
 * - the exact text (`===`): a retry, a replay;
 * - the same text but for the value of the message's `id` (json-rpc-id.ts), what a client that
 *   numbers its requests sends: the text before and after the id must be equal to the entry's,
 *   and the new id must parse as a JSON string, finite number or null. Then the request's text
 *   is the entry's with one scalar value replaced, so it parses to the entry's message with that
 *   id: the memo answers with copies of the top-level object and of the call carrying the new
 *   id, so conditions and templates that read `body.id` see this request's.
 * An entry keeps an id span only when JSON.parse of its text agreed with the scanner on the id.
 * Any other difference — whitespace, member order, a batch — is a miss, parsed as if there were
 * no memo. Texts that fail to parse are not kept. The limits and the partial mark are checked
 * as for a parse (mapping/mapper.ts; the size again here, since a new id changes it), and a
 * memo lives and dies with its Mapper, i.e. one config version. So a hit gives what a parse
 * would, and the memo can change no decision.
 *
 * The cache-key digest covers the text around the id (with the id's offset) when there is an id
 * span, else the whole text: calls differing only in their id share a cached decision; any
 * other difference is another key. SHA-256 over UTF-8: body texts come from UTF-8 decoding,
 * which yields no lone surrogates, so distinct texts give distinct bytes.
 *
 * Lookup cost: a slot chosen from the length and 16 characters sampled across the text (hashing
 * 4 KiB with V8's string hash, as a Map keyed by the text would, costs 7 µs here, SHA-256 3 µs),
 * then one comparison; an id-only difference adds one pass over the text's structure. Texts that
 * share a slot replace each other; someone who crafts such texts can only turn hits into misses.
 * Bounded: at most `capacity` entries per map of at most `maxChars` characters each (oldest slot
 * evicted first); parsed values are deep-frozen when a second request shares them.
 */
import { createHash, hash } from 'node:crypto';
import type { RequestBody } from '../core/action.js';
import { idSpan, type IdSpan } from './json-rpc-id.js';
import type { JsonRpcId, McpMessage } from './mcp.js';

export interface McpParsed {
  readonly body: RequestBody;
  readonly message: McpMessage;
  /** SHA-256 (32 latin1 characters) of the text, or of the text around its id: the arguments' stand-in in the cache key. */
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
    /** Where the message's id is in `text`, when JSON.parse agreed. */
    readonly span: IdSpan | undefined,
  ) {}
}

const SAMPLES = 16;

/** Mixes the length of text[from, to) and SAMPLES characters spread over it (its last included) into `h`. */
function sample(text: string, from: number, to: number, h: number): number {
  const n = to - from;
  const step = n > SAMPLES ? Math.floor(n / SAMPLES) : 1;
  h = Math.imul(h ^ n, 0x9e3779b1);
  for (let i = to - 1, k = 0; i >= from && k < SAMPLES; i -= step, k++) h = Math.imul(h ^ text.charCodeAt(i), 0x9e3779b1);
  return h;
}

const slotOf = (text: string): number => sample(text, 0, text.length, 0);
/** The slot of the text around the id: what two calls differing only in their id share. */
const shapeSlotOf = (text: string, s: IdSpan): number => sample(text, s.end, text.length, sample(text, 0, s.start, 1));

/** The SHA-256 of a body text, as the cache key carries it for a text without an id span. */
export function bodyDigest(text: string): string {
  return hash('sha256', text, 'binary');
}

/** The SHA-256 of the text around the id; the id's offset first, so the split cannot move (0x01: never a JSON text's first character). */
export function shapeDigest(text: string, s: IdSpan): string {
  return createHash('sha256').update(`\u0001${s.start}:`).update(text.slice(0, s.start)).update(text.slice(s.end)).digest('binary');
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
}

const isId = (v: unknown): v is JsonRpcId => typeof v === 'string' || v === null || (typeof v === 'number' && Number.isFinite(v));

/** The id value in text[s], when it is one a JSON-RPC id may be. */
function idAt(text: string, s: IdSpan): JsonRpcId | undefined {
  try {
    const v: unknown = JSON.parse(text.slice(s.start, s.end));
    return isId(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** UTF-16 length ≤ UTF-8 bytes ≤ 3 × it (gateway/body.ts): the exact count only when it can matter. */
const overSize = (text: string, maxBytes: number): boolean => text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes);

/** The entry's parse with `id` in place of its own (new top-level objects; everything below is shared). */
function withId(e: Entry, id: JsonRpcId): McpParsed {
  const value = { ...(e.body as { value: Record<string, unknown> }).value, id };
  const m = e.message;
  const message: McpMessage = { calls: m.calls.map((c) => ({ ...c, id })), ids: [id], batch: false, firstMethod: m.firstMethod };
  return { body: { partial: false, format: 'json', value }, message, digest: e.digest };
}

export class McpMemo {
  private readonly exact = new Map<number, Entry>();
  private readonly byShape = new Map<number, Entry>();

  constructor(
    private readonly capacity = 128,
    private readonly maxChars = 16 * 1024,
  ) {}

  /** The parse of `text` under `owner` (a route), when it is kept (exactly, or but for its id). */
  get(owner: object, text: string, maxBytes: number): McpParsed | undefined {
    if (text.length > this.maxChars) return undefined;
    const e = this.exact.get(slotOf(text));
    if (e !== undefined && e.owner === owner && e.text === text) return share(e);
    return this.byShape.size === 0 ? undefined : this.butForId(owner, text, maxBytes);
  }

  private butForId(owner: object, text: string, maxBytes: number): McpParsed | undefined {
    const s = idSpan(text);
    if (s === undefined) return undefined;
    const e = this.byShape.get(shapeSlotOf(text, s));
    const es = e?.span;
    if (e === undefined || es === undefined || e.owner !== owner || es.start !== s.start) return undefined;
    const tail = text.length - s.end;
    // Slices compared with ===: a memcmp of flat strings (startsWith/endsWith walked 4 KiB char by char: 2.7 vs 0.16 µs).
    if (e.text.length - es.end !== tail || text.slice(0, s.start) !== e.text.slice(0, s.start) || text.slice(s.end) !== e.text.slice(es.end)) return undefined;
    const id = idAt(text, s);
    if (id === undefined || overSize(text, maxBytes)) return undefined;
    return withId(share(e), id);
  }

  /** Keeps the parse of `text` (computing its digest) and returns it. */
  put(owner: object, text: string, body: RequestBody, message: McpMessage): McpParsed {
    const found = message.batch || message.ids.length !== 1 ? undefined : idSpan(text);
    // The scanner's id must be the one JSON.parse kept, or the text is keyed whole.
    const span = found !== undefined && Object.is(idAt(text, found), message.ids[0]) ? found : undefined;
    const e = new Entry(owner, text, body, message, span === undefined ? bodyDigest(text) : shapeDigest(text, span), span);
    if (text.length > this.maxChars) return e;
    this.keep(this.exact, slotOf(text), e);
    if (span !== undefined) this.keep(this.byShape, shapeSlotOf(text, span), e);
    return e;
  }

  private keep(map: Map<number, Entry>, slot: number, e: Entry): void {
    // A slot keeps its place in the eviction order when its entry changes: no delete and re-insert.
    if (!map.has(slot) && map.size >= this.capacity) {
      for (const k of map.keys()) {
        map.delete(k);
        break;
      }
    }
    map.set(slot, e);
  }
}

function share(e: Entry): Entry {
  if (!e.frozen) {
    deepFreeze(e.body);
    deepFreeze(e.message);
    e.frozen = true;
  }
  return e;
}
