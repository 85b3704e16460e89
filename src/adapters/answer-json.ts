/**
 * An adapter's JSON answer (or the REST submit's), serialized once per Decision and then filled
 * in with each check's action id. A cached allow returns the same memoized Decision object every time, and the
 * Kong and Kong opa answers depend on nothing else but the action id — as long as the check
 * has no approval, status URL, deadline, retry-after, A/B membership or MCP message
 * (render.ts {@link plainResult}).
 * Building the answer object and JSON.stringify-ing it cost ~2 µs a check (bench/README.md,
 * optimizations log); joining the parts around the id costs a tenth of that. The parts are
 * joined by `+` (Array.prototype.join is a generic builtin, several times the cost for two or
 * three parts, and a flat copy the socket write makes again), and parts that are ASCII give an
 * ASCII answer (the id is: PLAIN_ID), whose UTF-8 length {@link AnswerJson.send} hands the reply
 * with it: Buffer.byteLength would flatten the joined string into a new one only to count it.
 *
 * The parts are the answer rendered with two different stand-in ids, split around each: they
 * are used only when both splits agree, so a decision whose own text holds a stand-in is simply
 * rendered in full. A Decision seen once (a fail-mode or one-off answer) is only remembered;
 * its parts are built the second time it is seen.
 */
import type { Decision } from '../core/decision.js';
import type { ReplyLike } from '../http/fast-routes.js';
import type { CheckResult } from '../pipeline/result.js';
import { plainResult } from './render.js';

const STAND_INS = ['00000000-0000-4000-8000-00000000a5a5', '00000000-0000-4000-8000-00000000b6b6'] as const;
/** An id JSON leaves as it is at any depth (in a string, or in JSON text inside a string). */
const PLAIN_ID = /^[0-9A-Za-z_.:-]+$/;
const SEEN_ONCE = 0;
const NO_TEMPLATE = 1;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** A Decision's answer split around the action id, and whether every part is ASCII. */
interface Parts {
  readonly parts: readonly string[];
  readonly ascii: boolean;
}

export class AnswerJson {
  private readonly parts = new WeakMap<Decision, Parts | typeof SEEN_ONCE | typeof NO_TEMPLATE>();
  /** The Decision last answered from parts, and its parts: a cached allow repeats one Decision. */
  private lastDecision: Decision | undefined = undefined;
  private lastParts: Parts | undefined = undefined;

  /**
   * `render` may read only the result's Decision and action id, and the fields plainResult
   * checks; `serialize` must be a pure function of the value (JSON.stringify, or a schema's
   * fast-json-stringify serializer).
   */
  constructor(
    private readonly render: (r: CheckResult) => unknown,
    private readonly serialize: (value: unknown) => string = JSON.stringify,
  ) {}

  /** serialize(render(r)), from the Decision's parts when it has them. */
  of(r: CheckResult): string {
    const p = this.partsOf(r);
    return p === undefined ? this.serialize(this.render(r)) : joined(p, r.actionId);
  }

  /** Sends {@link of}(r) on `reply` as `application/json`, with its UTF-8 length when its parts are ASCII. */
  send(reply: ReplyLike, r: CheckResult): void {
    const p = this.partsOf(r);
    const json = reply.header('content-type', 'application/json');
    if (p === undefined) void json.send(this.serialize(this.render(r)));
    else {
      const text = joined(p, r.actionId);
      void json.send(text, p.ascii ? text.length : undefined);
    }
  }

  /** The parts to answer `r` from; undefined: render it in full. */
  private partsOf(r: CheckResult): Parts | undefined {
    // An id the check drew itself is plain: no pattern to test.
    if (!plainResult(r) || (r.actionIdPlain !== true && !PLAIN_ID.test(r.actionId))) return undefined;
    const d = r.decision;
    const p = d === this.lastDecision ? this.lastParts : this.parts.get(d);
    if (typeof p === 'object') {
      this.lastDecision = d;
      this.lastParts = p;
      return p;
    }
    if (p === undefined) this.parts.set(d, SEEN_ONCE);
    else if (p === SEEN_ONCE) this.parts.set(d, this.split(r) ?? NO_TEMPLATE);
    return undefined;
  }

  private split(r: CheckResult): Parts | undefined {
    const [a, b] = STAND_INS.map((id) => this.serialize(this.render({ ...r, actionId: id })).split(id));
    if (a === undefined || b === undefined || a.length !== b.length || a.some((part, i) => part !== b[i])) return undefined;
    return { parts: Object.freeze(a), ascii: a.every((part) => ASCII.test(part)) };
  }
}

/** The answer: the parts joined around the action id. */
function joined(p: Parts, id: string): string {
  const parts = p.parts;
  let text = parts[0] as string;
  for (let i = 1; i < parts.length; i++) text = text + id + (parts[i] as string);
  return text;
}
