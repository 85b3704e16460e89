/**
 * The decision-cache key: an unambiguous (JSON-encoded) list of every input the decision
 * depends on — agent, action type, resource, parameters, and each `context.*` / `request.*`
 * value that a policy condition or the risk model reads (binding.ts) — prefixed by the config
 * version, so a reload can never serve a decision made under an older config.
 */
import type { EvalInput } from '../core/action.js';
import type { Getter } from '../policy/paths.js';
import { compileBoundPaths } from './binding.js';

export type Fingerprinter = (input: EvalInput) => string;

export function createFingerprinter(version: number, reads: Iterable<string>): Fingerprinter {
  const getters = compileBoundPaths(reads).map((b) => b.get);
  const prefix = `${version}:`;
  return (input) => {
    const a = input.action;
    const pk = input.parametersKey;
    // parameters are objects, so `null` in their place plus the length-prefixed key after a NUL
    // (which JSON never contains unescaped) cannot collide with any other input's key.
    const parts: unknown[] = [a.agent_id, a.action_type, a.resource, pk === undefined ? a.parameters : null];
    for (let i = 0; i < getters.length; i++) parts.push((getters[i] as Getter)(input));
    const key = prefix + JSON.stringify(parts);
    return pk === undefined ? key : `${key}\u0000${pk.length}:${pk}`;
  };
}
