/**
 * HPACK's Huffman code (RFC 7541 Appendix B) and a decoder that reads four bits at a step from
 * a table built once at load: 256 states (the code tree's inner nodes) × 16 nibbles. A string
 * is valid only if its padding is a prefix of EOS (all ones) shorter than 8 bits and EOS itself
 * never appears (RFC 7541 5.2).
 */

/** The code of each symbol 0–255 and EOS (256), right-aligned. */
const CODES = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff,
];

/** The length in bits of each code. */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

/** Buffer's unchecked Latin-1 slice (public, missing from @types/node). */
export type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

const EOS = 256;
// Table entry: next state (bits 0–7), emitted symbol (8–15), flags (16–17).
const EMIT = 1 << 16;
const FAIL = 1 << 17;

interface Tree { left: Int16Array; right: Int16Array; depth: Uint8Array; ones: Uint8Array }

/** The code tree: inner nodes 0..255 (0 the root); a child ≥ 0 is an inner node, −1 − s the leaf of symbol s. */
function buildTree(): Tree {
  const left = new Int16Array(256).fill(0x7fff);
  const right = new Int16Array(256).fill(0x7fff);
  const depth = new Uint8Array(256);
  const ones = new Uint8Array(256); // 1 if the path from the root is all one bits
  ones[0] = 1;
  let next = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = CODES[sym] as number;
    const len = LENGTHS[sym] as number;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = (code >>> i) & 1;
      const side = bit ? right : left;
      if (i === 0) {
        side[node] = -1 - sym;
        break;
      }
      let child = side[node] as number;
      if (child === 0x7fff) {
        child = next++;
        side[node] = child;
        depth[child] = (depth[node] as number) + 1;
        ones[child] = ones[node] && bit ? 1 : 0;
      }
      node = child;
    }
  }
  return { left, right, depth, ones };
}

function buildTable(tree: Tree): Uint32Array {
  const table = new Uint32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const child = ((nibble >>> i) & 1 ? tree.right : tree.left)[node] as number;
        if (child >= 0) {
          node = child;
          continue;
        }
        const sym = -1 - child;
        // Four bits complete at most one code: the shortest is five bits long.
        entry = sym === EOS ? FAIL : EMIT | (sym << 8);
        node = 0;
        if (sym === EOS) break;
      }
      table[state * 16 + nibble] = entry | node;
    }
  }
  return table;
}

const TREE = buildTree();
const TABLE = buildTable(TREE);
/** States where a string may end: the root, or up to seven one bits into a code (EOS padding). */
const ACCEPT = new Uint8Array(256).map((_, s) => (s === 0 || (TREE.ones[s] === 1 && (TREE.depth[s] as number) <= 7) ? 1 : 0));

/** Reused output: a decoded string is at most 8/5 of its encoded length. */
let scratch = Buffer.allocUnsafeSlow(4096);

/** Decodes `src[start, end)`; undefined if the bytes are not a valid Huffman string. Latin-1, like node:http2's header strings. */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string | undefined {
  const need = Math.ceil(((end - start) * 8) / 5);
  if (need > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(need, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i] as number;
    let e = TABLE[state * 16 + (byte >>> 4)] as number;
    if (e & FAIL) return undefined;
    if (e & EMIT) out[n++] = (e >>> 8) & 0xff;
    state = e & 0xff;
    e = TABLE[state * 16 + (byte & 15)] as number;
    if (e & FAIL) return undefined;
    if (e & EMIT) out[n++] = (e >>> 8) & 0xff;
    state = e & 0xff;
  }
  return ACCEPT[state] === 1 ? (out as Latin1Buffer).latin1Slice(0, n) : undefined;
}

/** Huffman-encodes a Latin-1 string: the tests' reference for the decoder (the server sends raw literals). */
export function huffmanEncode(s: string): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const len = LENGTHS[sym] as number;
    const code = CODES[sym] as number;
    // Feed the code in pieces small enough for 32-bit arithmetic.
    for (let left = len; left > 0;) {
      const take = Math.min(left, 8);
      left -= take;
      acc = (acc << take) | ((code >>> left) & ((1 << take) - 1));
      bits += take;
      while (bits >= 8) {
        bits -= 8;
        bytes.push((acc >>> bits) & 0xff);
      }
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(bytes);
}
