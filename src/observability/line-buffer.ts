/**
 * Log lines written piece by piece straight into a Buffer, handed to the destination in
 * chunks of whole lines. Building a ~450-byte decision line as a JS string — twenty
 * concatenations, a JSON.stringify per value, a join per batch and a UTF-8 encode per write —
 * measured 9 µs of CPU per check under load, most of it garbage collection on the V8 helper
 * threads; copying the same bytes into one reused chunk makes no garbage at all (the
 * destination writes a chunk before write() returns, or copies what it must keep).
 *
 * `maxBytes` caps a chunk: under --workers it is PIPE_BUF (4096) so every write to a shared
 * stdout pipe is atomic and holds whole lines (a single longer line goes alone).
 */

/**
 * JSON text written on every line (field names, a Decision's fields), encoded to UTF-8 once:
 * a chunk takes it with one memcpy (`Uint8Array.set`, ~25 ns) where a string costs a
 * charCodeAt loop or a call into C++ (70–85 ns) each time.
 */
export class Encoded {
  readonly bytes: Uint8Array;
  private decoded: string | undefined;

  /** `bytes`: the UTF-8 of `text` when already at hand (kept as they are: not to be changed). */
  constructor(text: string | undefined, bytes?: Uint8Array) {
    this.decoded = text;
    this.bytes = bytes ?? Buffer.from(text ?? '', 'utf8');
  }

  get text(): string {
    return (this.decoded ??= Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length).toString('utf8'));
  }
}

/** Where finished lines go: a string sink (tests, plain streams) or a chunked Buffer sink. */
export interface LineOut {
  /** JSON text encoded once, written as is. */
  encoded(e: Encoded): void;
  /** Bytes known to be ASCII and to need no escaping (field names, numbers, constants). */
  ascii(s: string): void;
  /** JSON text that is already escaped, in any characters (written as UTF-8). */
  text(s: string): void;
  /** A number as `String(n)` writes it; a small non-negative integer without making that string. */
  int(n: number): void;
  /** A JSON string literal: quoted and escaped exactly as JSON.stringify would. */
  json(s: string): void;
  endLine(): void;
  /** Where the current line is: its length so far, for {@link LineOut.since}. */
  mark(): number;
  /** A copy of what the current line took since `mark` (a repeated run of pieces: one copy next time). */
  since(mark: number): Encoded;
  /** Hands over what is buffered (a no-op where nothing is). */
  flush(): void;
}

/** Characters JSON.stringify escapes or rewrites: quote, backslash, controls, lone surrogates. */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Strings up to this long are copied with a charCodeAt loop; a Buffer write is a call into
 * C++ (~70 ns each, twenty-odd per decision line: 8 % of a cached check's CPU in a profile).
 */
const NATIVE_FROM = 64;

/** A turn that finished at most this many lines is quiet: requests come one at a time. */
const QUIET_TURN_LINES = 2;
/** Hand-off size after a quiet turn (a write every ~18 decision lines). */
const QUIET_HANDOFF_BYTES = 8192;

/** Builds each line as a string and writes it whole: for tests and non-batched sinks. */
export class StringLines implements LineOut {
  private line = '';

  constructor(private readonly dest: { write(s: string): unknown }) {}

  ascii(s: string): void {
    this.line += s;
  }

  encoded(e: Encoded): void {
    this.line += e.text;
  }

  text(s: string): void {
    this.line += s;
  }

  json(s: string): void {
    this.line += JSON.stringify(s);
  }

  int(n: number): void {
    this.line += String(n);
  }

  mark(): number {
    return this.line.length;
  }

  since(mark: number): Encoded {
    return new Encoded(this.line.slice(mark));
  }

  endLine(): void {
    const line = `${this.line}\n`;
    this.line = '';
    this.dest.write(line);
  }

  flush(): void {}
}

/** Takes a chunk of whole lines; must not keep `chunk` past the call (it is reused). */
export interface ChunkSink {
  write(chunk: Buffer): unknown;
}

export class LineBuffer implements LineOut {
  private buf: Buffer;
  private pos = 0;
  private lineStart = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The end of the current event-loop turn (setImmediate), armed by its first line. */
  private turnEnd: NodeJS.Immediate | undefined;
  /** Lines finished in the current turn. */
  private turnLines = 0;
  private readonly onTurnEnd = (): void => {
    this.turnEnd = undefined;
    const quiet = this.turnLines <= QUIET_TURN_LINES;
    this.turnLines = 0;
    if (this.lineStart >= (quiet ? this.quietBytes : this.busyBytes)) this.flush();
  };
  /** Hand-off size once a turn was busy: 7/8 of a chunk (the last eighth takes that turn's lines). */
  private readonly busyBytes: number;
  private readonly quietBytes: number;

  /**
   * `quietBytes`: the hand-off size after a quiet turn (at most QUIET_TURN_LINES lines, as when
   * requests come one at a time), so the write that follows a request stays short.
   */
  constructor(
    private readonly dest: ChunkSink,
    private readonly maxBytes = 16_384,
    private readonly maxDelayMs = 100,
    quietBytes = QUIET_HANDOFF_BYTES,
  ) {
    // Its own memory, not a slice of the shared pool: this chunk lives as long as the log.
    this.buf = Buffer.allocUnsafeSlow(maxBytes);
    this.busyBytes = maxBytes - (maxBytes >> 3);
    this.quietBytes = Math.min(quietBytes, this.busyBytes);
  }

  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    if (n > NATIVE_FROM) {
      this.pos += this.buf.write(s, this.pos, 'latin1');
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  int(n: number): void {
    // Digits written last to first; anything but an integer in [0, 2^31) goes through String().
    if (!(n >= 0 && n <= 0x7fffffff && Math.floor(n) === n)) {
      this.ascii(String(n));
      return;
    }
    let digits = 1;
    for (let m = n; m >= 10; m = (m / 10) | 0) digits++;
    this.ensure(digits);
    const b = this.buf;
    let p = this.pos + digits;
    this.pos = p;
    let m = n | 0;
    do {
      b[--p] = 0x30 + (m % 10);
      m = (m / 10) | 0;
    } while (m > 0);
  }

  encoded(e: Encoded): void {
    const b = e.bytes;
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  json(s: string): void {
    const n = s.length;
    this.ensure(n * 3 + 2);
    const b = this.buf;
    const start = this.pos;
    if (n <= NATIVE_FROM) {
      // Plain printable ASCII (nearly every value) is its own JSON: copy it between quotes.
      let p = start;
      b[p++] = 0x22;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
        b[p++] = c;
      }
      if (i === n) {
        b[p++] = 0x22;
        this.pos = p;
        return;
      }
    }
    if (NEEDS_ESCAPE.test(s)) {
      this.pos = start;
      this.text(JSON.stringify(s));
      return;
    }
    let p = start;
    b[p++] = 0x22;
    p += b.write(s, p, 'utf8');
    b[p++] = 0x22;
    this.pos = p;
  }

  endLine(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0x0a;
    // A chunk grown for a long line must not take more lines past maxBytes (PIPE_BUF): the
    // lines before this one go alone, and this one starts the next chunk.
    if (this.pos > this.maxBytes && this.lineStart > 0) this.handOff(this.lineStart);
    this.lineStart = this.pos;
    if (this.pos >= this.maxBytes) {
      this.flush();
      return;
    }
    // Handed over at the end of the event-loop turn (setImmediate), never inside the request
    // whose line filled the chunk: the write would come before that request's answer. How much
    // to hand over depends on the turn. A busy turn (several requests' lines: the loop has a
    // queue) waits for 7/8 of the chunk — under load a write(2) costs about the same whatever
    // its size, so fewer writes cost least. A quiet turn (requests one at a time) hands over
    // from quietBytes: there every request waits for the write the request before it caused,
    // and an append of 64 KiB to a file costs 50–80 µs on the bench VM (page cache, the
    // file's size in the journal) — the serial p99 against a bare handler (bench/README.md).
    this.turnLines++;
    this.turnEnd ??= setImmediate(this.onTurnEnd);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.maxDelayMs);
      this.timer.unref();
    }
  }

  mark(): number {
    return this.pos - this.lineStart;
  }

  since(mark: number): Encoded {
    // Relative to the line's start: ensure() may have moved the line to a chunk's start since.
    const start = this.lineStart + mark;
    const bytes = new Uint8Array(this.pos - start);
    bytes.set(this.buf.subarray(start, this.pos));
    return new Encoded(undefined, bytes);
  }

  /** Hands every finished line to the destination now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lineStart === 0) return;
    this.handOff(this.lineStart);
  }

  text(s: string): void {
    const n = s.length;
    this.ensure(n * 3);
    const b = this.buf;
    let p = this.pos;
    if (n <= NATIVE_FROM) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p + i] = c;
      }
      if (i === n) {
        this.pos = p + n;
        return;
      }
    }
    this.pos = p + b.write(s, p, 'utf8');
  }

  /** Room for `n` more bytes of the current line, without splitting it across chunks. */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const partial = this.pos - this.lineStart;
    // Finished lines go now; the line being written moves to the start of a fresh chunk.
    if (this.lineStart > 0) this.handOff(this.lineStart);
    if (partial + n > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.maxBytes, 2 * (partial + n)));
      this.buf.copy(bigger, 0, 0, partial);
      this.buf = bigger;
    }
  }

  /** Writes bytes [0, end) and moves the rest (a partial line) to the start of the chunk. */
  private handOff(end: number): void {
    const rest = this.pos - end;
    this.dest.write(this.buf.subarray(0, end));
    if (rest > 0) this.buf.copyWithin(0, end, this.pos);
    this.pos = rest;
    this.lineStart = 0;
  }
}
