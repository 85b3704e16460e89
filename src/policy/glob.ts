/**
 * `*` wildcards (any run of characters, `/` and `.` included). Matched with the classic
 * two-pointer algorithm: no regular expression, so no backtracking blow-up on hostile input.
 */
export function hasWildcard(pattern: string): boolean {
  return pattern.indexOf('*') !== -1;
}

export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern.charCodeAt(p) !== 0x2a && pattern.charCodeAt(p) === text.charCodeAt(t)) {
      p++;
      t++;
    } else if (p < pattern.length && pattern.charCodeAt(p) === 0x2a) {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 0x2a) p++;
  return p === pattern.length;
}

/** A compiled matcher for one pattern: plain equality when there is no wildcard. */
export function compileGlob(pattern: string): (text: string) => boolean {
  if (!hasWildcard(pattern)) return (text) => text === pattern;
  if (pattern === '*') return () => true;
  const firstStar = pattern.indexOf('*');
  if (firstStar === pattern.length - 1) {
    const prefix = pattern.slice(0, -1);
    return (text) => text.startsWith(prefix);
  }
  return (text) => globMatch(pattern, text);
}
