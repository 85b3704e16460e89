/**
 * The decision-cache key: an unambiguous (JSON-encoded) list of every input the decision
 * depends on — agent, action type, resource, parameters, and each `context.*` / `request.*`
 * value that a policy condition or the risk model reads (binding.ts) — led by the config
 * version, so a reload can never serve a decision made under an older config.
 */
import type { EvalInput } from '../core/action.js';
import type { Getter } from '../policy/paths.js';
import { compileBoundPaths } from './binding.js';

export type Fingerprinter = (input: EvalInput) => string;

export function createFingerprinter(version: number, reads: Iterable<string>): Fingerprinter {
  const getters = compileBoundPaths(reads).map((b) => b.get);
  // One list filled per call and serialized at once (synchronous: no call can see another's
  // values): no array per check, and the version inside the JSON rather than concatenated in
  // front, so the key is one flat string the cache digests without copying it first.
  // Grown by push, not `new Array(n)`: a holey array takes JSON.stringify's slow path.
  const parts: unknown[] = [version];
  const n = 5 + getters.length;
  for (let i = 1; i < n; i++) parts.push(null);
  return (input) => {
    const a = input.action;
    const pk = input.parametersKey;
    // parameters are objects, so `null` in their place plus the length-prefixed key after a NUL
    // (which JSON never contains unescaped) cannot collide with any other input's key.
    let key: string;
    try {
      parts[1] = a.agent_id;
      parts[2] = a.action_type;
      parts[3] = a.resource;
      parts[4] = pk === undefined ? a.parameters : null;
      for (let i = 0; i < getters.length; i++) parts[5 + i] = (getters[i] as Getter)(input);
      key = JSON.stringify(parts);
    } finally {
      // Emptied again (also when a getter throws: body_truncated): the list outlives the
      // call, and would keep this request's parameters and context values (and any string
      // sliced from its body) alive until the next check.
      for (let i = 1; i < n; i++) parts[i] = null;
    }
    return pk === undefined ? key : `${key}\u0000${pk.length}:${pk}`;
  };
}
