/**
 * A set of ASCII characters as a 128-entry table, for the hot path's "only these characters?"
 * tests: a loop over the table costs a few instructions a character, where a regular
 * expression's test costs ~1,000 a call (mapping/identity.ts, adapters/kong-opa).
 */
export type AsciiSet = Uint8Array;

/** The ASCII characters `member` takes (a regular expression for one character, or the characters themselves). */
export function asciiSet(member: RegExp | string): AsciiSet {
  const set = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    set[c] = (typeof member === 'string' ? member.includes(ch) : member.test(ch)) ? 1 : 0;
  }
  return set;
}

/** Whether every character of `s` is in `set` (true for ''). Anything beyond ASCII is not. */
export function onlyIn(set: AsciiSet, s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || set[c] === 0) return false;
  }
  return true;
}
