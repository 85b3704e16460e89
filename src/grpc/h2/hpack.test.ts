import { describe, expect, it } from 'vitest';
import { HpackDecoder, HpackError, literal, type HeaderSink } from './hpack.js';
import { huffmanDecode, huffmanEncode } from './huffman.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeAll(d: HpackDecoder, block: Buffer): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [];
  const sink: HeaderSink = { field: (n, v, ok) => out.push([n, v, ok]) };
  d.decode(block, 0, block.length, sink);
  return out.map((f) => f);
}

describe('Huffman (RFC 7541 Appendix B)', () => {
  it('decodes the RFC 7541 C.4.1 string and encodes it back', () => {
    const enc = hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff');
    expect(huffmanDecode(enc, 0, enc.length)).toBe('www.example.com');
    expect(huffmanEncode('www.example.com')).toEqual(enc);
  });

  it('round-trips every byte value', () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const enc = huffmanEncode(all + all.split('').reverse().join(''));
    expect(huffmanDecode(enc, 0, enc.length)).toBe(all + all.split('').reverse().join(''));
  });

  it('refuses padding that is not a prefix of EOS, or 8 bits or longer', () => {
    // 'a' is 00011 (5 bits): padded with 111 it is 0x1f; with 000 it is invalid.
    expect(huffmanDecode(Buffer.from([0x1f]), 0, 1)).toBe('a');
    expect(huffmanDecode(Buffer.from([0x18]), 0, 1)).toBeUndefined();
    // A full byte of ones after a complete string is padding of 8 bits.
    expect(huffmanDecode(Buffer.from([0x1f, 0xff]), 0, 2)).toBeUndefined();
  });

  it('refuses EOS inside a string', () => {
    // EOS is thirty one bits: 0xff 0xff 0xff 0xfc.
    expect(huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xfc]), 0, 4)).toBeUndefined();
  });
});

describe('HpackDecoder (RFC 7541 Appendix C)', () => {
  it('decodes the C.3 requests without Huffman, keeping the dynamic table across blocks', () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')).map(([n, v]) => [n, v])).toEqual([
      [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'],
    ]);
    expect(decodeAll(d, hex('8286 84be 5808 6e6f 2d63 6163 6865')).map(([n, v]) => [n, v])).toEqual([
      [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache'],
    ]);
    expect(decodeAll(d, hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')).map(([n, v]) => [n, v])).toEqual([
      [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
    ]);
  });

  it('decodes the C.4 requests with Huffman', () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')).at(-1)).toEqual([':authority', 'www.example.com', true]);
    expect(decodeAll(d, hex('8286 84be 5886 a8eb 1064 9cbf')).at(-1)).toEqual(['cache-control', 'no-cache', true]);
    expect(decodeAll(d, hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')).at(-1)).toEqual(['custom-key', 'custom-value', true]);
  });

  it('evicts the oldest entries when the table is full', () => {
    const d = new HpackDecoder(100); // room for one 'aaaa…' entry of 68 octets, not two
    const add = (name: string, value: string) => Buffer.concat([Buffer.from([0x40]), Buffer.from([name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
    decodeAll(d, add('x-one', 'a'.repeat(31)));
    decodeAll(d, add('x-two', 'b'.repeat(31)));
    expect(decodeAll(d, Buffer.from([0xbe]))).toEqual([['x-two', 'b'.repeat(31), true]]);
    expect(() => decodeAll(d, Buffer.from([0xbf]))).toThrow(HpackError);
  });

  it('marks names and values HTTP/2 forbids', () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, literal('X-Upper', 'v'))[0]?.[2]).toBe(false);
    expect(decodeAll(d, literal('x-ok', 'a\r\nb'))[0]?.[2]).toBe(false);
    expect(decodeAll(d, literal('x-ok', 'fine'))[0]?.[2]).toBe(true);
    expect(decodeAll(d, literal(31, 'application/grpc'))[0]).toEqual(['content-type', 'application/grpc', true]);
  });

  it.each([
    ['index 0', '80'],
    ['an index past the table', 'be'],
    ['a string longer than the block', '0003 6162'],
    ['a truncated integer', '0fff'],
    ['an integer over 2^28', '0fff ffff ffff ff7f'],
    ['a table size update over the limit', '3fe2 1f'],
    ['a table size update after a field', '82 20'],
    ['an invalid Huffman string', '0081 00 00'],
  ])('throws on %s', (_name, bytes) => {
    expect(() => decodeAll(new HpackDecoder(), hex(bytes))).toThrow(HpackError);
  });

  it('keeps what fits on a table size update (RFC 7541 4.3), and empties the table at zero', () => {
    const d = new HpackDecoder();
    decodeAll(d, hex('4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'));
    expect(decodeAll(d, hex('be'))[0]?.[0]).toBe('custom-key');
    // An update to the size already in force (4096), then one to 100: the 54-octet entry stays.
    expect(decodeAll(d, hex('3fe1 1f be'))[0]?.[0]).toBe('custom-key');
    expect(decodeAll(d, hex('3f45 be'))[0]?.[0]).toBe('custom-key');
    decodeAll(d, hex('20'));
    expect(() => decodeAll(d, hex('be'))).toThrow(HpackError);
  });
});
