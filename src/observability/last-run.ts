/**
 * A run of a log line's pieces remembered by the values it was written from: when a line's
 * values are the line before's (one request shape after another: a gateway's traffic, one
 * route and resource), the run's bytes are the same and are copied whole — they were a dozen
 * pieces. The bytes are taken the second time the values come running, so values seen once
 * cost no copy. Used twice per decision-log line (decision-log.ts: the adapter to the
 * Decision's part, and the short tail).
 *
 * Five values, compared with `===`: strings by their text, anything else (a Decision's
 * encoded part, a Redaction) by identity, so each must stand for the bytes it writes.
 */
import type { Encoded, LineOut } from './line-buffer.js';

export class LastRun {
  private v0: unknown = undefined;
  private v1: unknown = undefined;
  private v2: unknown = undefined;
  private v3: unknown = undefined;
  private v4: unknown = undefined;
  /** The run's bytes for these values, once they came twice running. */
  private bytes: Encoded | undefined = undefined;
  /** Where the run being written started, when {@link end} is to take its bytes (-1: not). */
  private at = -1;

  /**
   * Writes the run for these values to `o` from its bytes and returns true when it has them;
   * else returns false, and the caller writes the run's pieces and then calls {@link end}.
   */
  replayed(o: LineOut, v0: unknown, v1: unknown, v2: unknown, v3: unknown, v4: unknown): boolean {
    if (this.v0 === v0 && this.v1 === v1 && this.v2 === v2 && this.v3 === v3 && this.v4 === v4) {
      const bytes = this.bytes;
      if (bytes !== undefined) {
        o.encoded(bytes);
        return true;
      }
      this.at = o.mark();
    } else {
      this.v0 = v0;
      this.v1 = v1;
      this.v2 = v2;
      this.v3 = v3;
      this.v4 = v4;
      this.bytes = undefined;
      this.at = -1;
    }
    return false;
  }

  /** After the pieces {@link replayed} did not write: takes their bytes when the values came twice running. */
  end(o: LineOut): void {
    if (this.at === -1) return;
    this.bytes = o.since(this.at);
    this.at = -1;
  }
}
