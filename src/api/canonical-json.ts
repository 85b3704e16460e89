/**
 * The text the ASCEND SDK signs: Python's `json.dumps(body, sort_keys=True)` — keys sorted at
 * every level by code point, separators `", "` and `": "`, strings ASCII-escaped — rebuilt from
 * the raw request body. The body is tokenized and re-emitted rather than parsed into JavaScript
 * values: `JSON.parse` turns `1.0` into 1 and Python writes `1.0`. Numbers keep their lexeme
 * (requests serializes the body with the same json.dumps, so the lexeme is what was signed);
 * strings and keys are decoded and re-escaped as Python does, so `é` and `\u00e9` both read as
 * Python's `\u00e9`. A key twice in one object is refused: JSON.parse keeps the last value, and
 * what is verified must be what the routes read.
 *
 * Recursion depth is bounded by the body parser's depth check (limits.max_json_depth), which
 * runs before any hook sees the body.
 */

export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** Python's `ensure_ascii` string form: printable ASCII as is, the rest `\uXXXX` (lower-case hex, UTF-16 units). */
export function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = s.charCodeAt(i);
    if (SHORT_ESCAPES[c] !== undefined) out += SHORT_ESCAPES[c];
    else if (code >= 0x20 && code <= 0x7e) out += c;
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** Python compares str by code point; JavaScript's `<` by UTF-16 unit (they differ above U+FFFF). */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

class Reader {
  private i = 0;
  constructor(private readonly text: string) {}

  document(): string {
    const v = this.value();
    this.skip();
    if (this.i !== this.text.length) this.fail('text after the JSON value');
    return v;
  }

  private fail(what: string): never {
    throw new CanonicalJsonError(`${what} at offset ${this.i}`);
  }

  private skip(): void {
    while (WS.has(this.text[this.i]!)) this.i++;
  }

  private value(): string {
    this.skip();
    const c = this.text[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return pythonString(this.string());
    for (const lit of ['true', 'false', 'null']) {
      if (this.text.startsWith(lit, this.i)) { this.i += lit.length; return lit; }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('expected a JSON value');
    this.i += m[0].length;
    return m[0];
  }

  /** A string token, decoded. */
  private string(): string {
    const start = this.i++;
    while (this.text[this.i] !== '"') {
      if (this.i >= this.text.length) this.fail('unterminated string');
      this.i += this.text[this.i] === '\\' ? 2 : 1;
    }
    this.i++;
    try {
      return JSON.parse(this.text.slice(start, this.i)) as string;
    } catch {
      return this.fail('invalid string');
    }
  }

  private object(): string {
    this.i++;
    const members: [string, string][] = [];
    const keys = new Set<string>();
    this.skip();
    if (this.text[this.i] === '}') { this.i++; return '{}'; }
    for (;;) {
      this.skip();
      if (this.text[this.i] !== '"') this.fail('expected a key');
      const key = this.string();
      if (keys.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      keys.add(key);
      this.skip();
      if (this.text[this.i++] !== ':') this.fail('expected ":"');
      members.push([key, this.value()]);
      if (this.endOf('}')) break;
    }
    members.sort((a, b) => byCodePoint(a[0], b[0]));
    return `{${members.map(([k, v]) => `${pythonString(k)}: ${v}`).join(', ')}}`;
  }

  private array(): string {
    this.i++;
    const items: string[] = [];
    this.skip();
    if (this.text[this.i] === ']') { this.i++; return '[]'; }
    do items.push(this.value()); while (!this.endOf(']'));
    return `[${items.join(', ')}]`;
  }

  /** After a member or item: true at the closing bracket, false after a comma. */
  private endOf(close: string): boolean {
    this.skip();
    const c = this.text[this.i++];
    if (c === close) return true;
    if (c !== ',') this.fail(`expected "," or "${close}"`);
    return false;
  }
}

/** `json.dumps(json.loads(text), sort_keys=True)` with every number's lexeme kept. Throws CanonicalJsonError. */
export function pythonCanonicalJson(text: string): string {
  return new Reader(text).document();
}
