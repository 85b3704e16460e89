/**
 * A pure function of two arguments with its last answer kept: gateways send the same few values
 * (a host, a host and port) over and over, so the common call is two comparisons and no string
 * built. Only an answer is kept: arguments for which `f` throws are never remembered.
 */
export function lastAnswer<A, B, R>(f: (a: A, b: B) => R): (a: A, b: B) => R {
  let kept = false;
  let lastA: A | undefined;
  let lastB: B | undefined;
  let last: R | undefined;
  return (a, b) => {
    if (kept && a === lastA && b === lastB) return last as R;
    const r = f(a, b);
    lastA = a;
    lastB = b;
    last = r;
    kept = true;
    return r;
  };
}
