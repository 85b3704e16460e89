/**
 * Short strings the decoder has seen before, found by their bytes. Most of a CheckRequest's
 * strings repeat from request to request — header names, the method, scheme and host, most
 * header values — and decoding each one is a call into C++ and a new string that lives as long
 * as the request (long enough, under load, to be copied by a scavenge). A hit here is a hash
 * and a byte comparison in JS and returns the string already on the heap.
 *
 * A direct-mapped table of fixed size: a miss decodes as before and takes the slot, so
 * never-repeating values (request ids, trace ids) cost one copy into the arena and evict
 * something that will come back — unless `secondChance`: then a slot whose string was used
 * again since it was stored is kept over one new value, so values sent once pass through
 * without pushing out the ones that repeat. Equality is checked on the bytes, so a hash
 * collision only costs a miss. Used by the CheckRequest decoder (UTF-8) and the HTTP/1.1 head
 * parser (latin1, second chance).
 */
import { Buffer } from 'node:buffer';

export interface StringInternOptions {
  /** Decode as latin1 (bytes the caller checked are visible ASCII) instead of UTF-8. */
  readonly latin1?: boolean;
  /** Keep a slot that was hit since it was filled over one new value. */
  readonly secondChance?: boolean;
}

/** `buf.toString('latin1', start, end)` without its argument checks (node's own Buffer method). */
export const latin1 = (buf: Buffer, start: number, end: number): string => (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end);
const utf8 = (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end);

export class StringIntern {
  private readonly arena: Uint8Array;
  private readonly lengths: Int32Array;
  private readonly hashes: Int32Array;
  private readonly strings: (string | undefined)[];
  /** Per slot: 1 once hit since filled (secondChance only). */
  private readonly used: Uint8Array | undefined;
  private readonly mask: number;
  private readonly text: (buf: Buffer, start: number, end: number) => string;

  /** `slots`: a power of two; `maxBytes`: longer byte ranges are decoded without the table. */
  constructor(slots = 2048, readonly maxBytes = 64, opts: StringInternOptions = {}) {
    if ((slots & (slots - 1)) !== 0 || slots < 1) throw new RangeError(`slots must be a power of two, got ${slots}`);
    this.mask = slots - 1;
    this.arena = new Uint8Array(slots * maxBytes);
    this.lengths = new Int32Array(slots).fill(-1);
    this.hashes = new Int32Array(slots);
    this.strings = new Array<string | undefined>(slots).fill(undefined);
    this.used = opts.secondChance === true ? new Uint8Array(slots) : undefined;
    this.text = opts.latin1 === true ? latin1 : utf8;
  }

  /** The string in buf[start, end). */
  decode(buf: Buffer, start: number, end: number): string {
    const len = end - start;
    if (len > this.maxBytes) return this.text(buf, start, end);
    if (len === 0) return '';
    let h = 0x811c9dc5 | 0; // FNV-1a
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const slot = (h ^ (h >>> 15)) & this.mask;
    const base = slot * this.maxBytes;
    const arena = this.arena;
    if (this.lengths[slot] === len && this.hashes[slot] === h) {
      let i = 0;
      while (i < len && arena[base + i] === buf[start + i]) i++;
      if (i === len) {
        if (this.used !== undefined) this.used[slot] = 1;
        return this.strings[slot] as string;
      }
    }
    const s = this.text(buf, start, end);
    if (this.used !== undefined && this.used[slot] === 1) {
      this.used[slot] = 0;
      return s;
    }
    for (let i = 0; i < len; i++) arena[base + i] = buf[start + i] as number;
    this.lengths[slot] = len;
    this.hashes[slot] = h;
    this.strings[slot] = s;
    return s;
  }
}
