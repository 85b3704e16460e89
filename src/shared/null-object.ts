/**
 * A dictionary with no inherited keys (`__proto__`, `constructor`, `toString` are plain own
 * keys, as with Object.create(null)) that V8 keeps in fast mode: Object.create(null) starts in
 * dictionary mode, which made every header and query lookup and insert a hash-table operation.
 * Objects built by one constructor whose prototype has a null prototype get hidden classes, so
 * requests with the same header names share one shape.
 */
export const NullObject = function NullObject() {} as unknown as new <T = Record<string, unknown>>() => T;
NullObject.prototype = Object.create(null) as object;

/** `new NullObject()` typed as a record of V. */
export function nullObject<V>(): Record<string, V> {
  return new NullObject<Record<string, V>>();
}
