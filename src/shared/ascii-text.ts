/**
 * The last answer text known to be ASCII throughout, so that its UTF-8 length is its length:
 * answer-json.ts sets it for an answer joined from its Decision's parts, and the reply that
 * sends that text (http/fast-routes.ts ReplyBase) takes its length from it instead of
 * Buffer.byteLength — which flattened the answer, built as a concatenation, into a new string
 * only to count it. Compared with `===`: the same string is found at once, and any equal text is
 * ASCII as well, so a stale value is never wrong, only a comparison.
 */
export const asciiText: { last: string | undefined } = { last: undefined };
