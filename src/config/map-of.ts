/**
 * Maps in a schema (config, adapter wire contracts): an object whose every value is held to
 * `value`, and with `keys` every key to that string schema.
 *
 * Not `T.Record(key, value)`: that is `patternProperties: {"^(.*)$": value}` (or the key's own
 * pattern) with no `additionalProperties`, so a key the pattern does not match — one holding a
 * line break (`\n`, `\r`, U+2028, U+2029: `.` matches none), or any key outside a key pattern —
 * had its value go unchecked: `{"x\n": 5}` validated as a map of strings, and the code after
 * it met the number (a Kong request: evaluation_error, answered per fail_mode, where a
 * malformed request must be refused; a config: `risk.environments` scores that are no
 * integers, where the loader must name the field). A key schema without a pattern
 * (`minLength`) T.Record dropped altogether.
 */
import { Type as T, type SchemaOptions, type Static, type TSchema, type TString } from '@sinclair/typebox';

export function MapOf<V extends TSchema>(value: V, options: SchemaOptions & { readonly keys?: TString } = {}) {
  const { keys, ...rest } = options;
  return T.Unsafe<Record<string, Static<V>>>({ ...rest, type: 'object', ...(keys === undefined ? {} : { propertyNames: keys }), additionalProperties: value });
}
