/**
 * Checks an Envoy v3 config (YAML/JSON already parsed into plain objects) against Envoy's own
 * protos, the ones vendored in @grpc/grpc-js-xds (deps/envoy-api + googleapis, xds, validate).
 *
 * Envoy cannot run on this machine, so `envoy --mode validate` is out of reach; this is the
 * closest substitute. protobufjs' `Type.fromObject`/`verify` silently ignore unknown keys, so
 * instead the object is walked field by field against the descriptors:
 *   - every key must be a field of the message (snake_case, as Envoy's docs and our files
 *     write them) — a typo is an error with the path of the bad key;
 *   - deprecated fields are errors (Envoy warns, and later versions reject them);
 *   - scalars, enums (by name), repeated and map fields must have the right JSON shape;
 *   - at most one member of a oneof; oneofs marked `(validate.required)` need exactly one;
 *   - a subset of the protoc-gen-validate rules Envoy enforces at load time:
 *     message.required, duration.required, string.min_len, repeated.min_items, uint32 gt/gte/lt/lte;
 *   - `google.protobuf.Any` (`typed_config`, `typed_extension_protocol_options`) is resolved by
 *     its `@type`: the proto package is loaded on demand and the body is checked as that type,
 *     then packed, so the whole bootstrap finally encodes to protobuf wire format.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const INCLUDE = ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => join(DEPS, d));
const PROTOBUFJS_GOOGLE = join(dirname(require.resolve('protobufjs/package.json')), 'google', 'protobuf');

export interface ProtoIssue {
  path: string;
  message: string;
}

export class EnvoyProtos {
  readonly root = new protobuf.Root();
  private readonly loadedDirs = new Set<string>();

  constructor() {
    this.root.resolvePath = (_origin, target) => {
      if (target === 'google/protobuf/descriptor.proto') return join(PROTOBUFJS_GOOGLE, 'descriptor.proto');
      if (target.startsWith('google/protobuf/')) return target; // protobufjs' bundled well-known types
      for (const inc of INCLUDE) {
        const p = join(inc, target);
        if (existsSync(p)) return p;
      }
      return target;
    };
    this.loadPackage('envoy.config.bootstrap.v3');
  }

  /** Loads every .proto of a package (e.g. envoy.extensions.filters.http.ext_authz.v3). */
  loadPackage(pkg: string): boolean {
    if (this.loadedDirs.has(pkg)) return true;
    const rel = pkg.split('.').join('/');
    for (const inc of INCLUDE) {
      const dir = join(inc, rel);
      if (!existsSync(dir)) continue;
      const files = readdirSync(dir).filter((f) => f.endsWith('.proto')).map((f) => join(dir, f));
      if (files.length === 0) continue;
      this.root.loadSync(files, { keepCase: true });
      this.root.resolveAll();
      this.loadedDirs.add(pkg);
      return true;
    }
    return false;
  }

  /** Finds a message type by full name, loading its package when needed. */
  type(fullName: string): protobuf.Type | undefined {
    const find = (): protobuf.Type | undefined => {
      try {
        return this.root.lookupType(fullName);
      } catch {
        return undefined;
      }
    };
    const found = find();
    if (found) return found;
    const parts = fullName.split('.');
    // Try the longest package prefix first (nested messages: drop more than one component).
    for (let i = parts.length - 1; i > 0; i--) {
      if (this.loadPackage(parts.slice(0, i).join('.'))) {
        const t = find();
        if (t) return t;
      }
    }
    return undefined;
  }

  /**
   * Walks `value` as message `typeName`. Returns every problem found and, when there are none,
   * the protobuf-encoded message (proof that it is representable on the wire).
   */
  validate(typeName: string, value: unknown): { issues: ProtoIssue[]; encoded?: Uint8Array } {
    const type = this.type(typeName);
    if (!type) return { issues: [{ path: '', message: `unknown message type ${typeName}` }] };
    const issues: ProtoIssue[] = [];
    const plain = this.message(type, value, '', issues);
    if (issues.length > 0) return { issues };
    try {
      const msg = type.fromObject(plain as Record<string, unknown>);
      return { issues, encoded: type.encode(msg).finish() };
    } catch (e) {
      return { issues: [{ path: '', message: `cannot encode: ${(e as Error).message}` }] };
    }
  }

  private message(type: protobuf.Type, value: unknown, path: string, issues: ProtoIssue[]): unknown {
    const full = type.fullName.replace(/^\./, '');
    const wk = this.wellKnown(full, value, path, issues);
    if (wk !== NOT_WELL_KNOWN) return wk;
    if (!isObject(value)) {
      issues.push({ path, message: `expected an object for ${full}, got ${describe(value)}` });
      return {};
    }
    const out: Record<string, unknown> = {};
    const oneofSeen = new Map<string, string>();
    for (const [key, v] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      const field = type.fields[key];
      if (!field) {
        const byJson = type.fieldsArray.find((f) => toCamel(f.name) === key);
        issues.push({
          path: at,
          message: byJson
            ? `unknown field "${key}" in ${full} (write it as "${byJson.name}")`
            : `unknown field "${key}" in ${full}${suggest(key, type.fieldsArray.map((f) => f.name))}`,
        });
        continue;
      }
      const opts = (field.options ?? {}) as Record<string, unknown>;
      if (opts.deprecated === true) issues.push({ path: at, message: `field ${full}.${key} is deprecated` });
      if (field.partOf) {
        const prev = oneofSeen.get(field.partOf.name);
        if (prev) issues.push({ path: at, message: `"${key}" and "${prev}" are both set but belong to oneof ${field.partOf.name}` });
        oneofSeen.set(field.partOf.name, key);
      }
      out[key] = this.field(field, v, at, issues);
      this.rules(field, v, at, issues);
    }
    for (const field of type.fieldsArray) {
      const opts = (field.options ?? {}) as Record<string, unknown>;
      const present = Object.prototype.hasOwnProperty.call(value, field.name);
      // In a oneof, `required` means "when this member is chosen", not "always".
      if (!present && !field.partOf && (opts['(validate.rules).message.required'] === true || opts['(validate.rules).duration.required'] === true)) {
        issues.push({ path: path ? `${path}.${field.name}` : field.name, message: `${full}.${field.name} is required` });
      }
    }
    for (const oneof of type.oneofsArray) {
      const opts = (oneof.options ?? {}) as Record<string, unknown>;
      if (opts['(validate.required)'] === true && !oneofSeen.has(oneof.name)) {
        issues.push({ path, message: `${full}: one of ${oneof.oneof.join(', ')} is required` });
      }
    }
    return out;
  }

  private field(field: protobuf.Field, v: unknown, path: string, issues: ProtoIssue[]): unknown {
    field.resolve();
    if (field.map) {
      if (!isObject(v)) {
        issues.push({ path, message: `expected a map (object), got ${describe(v)}` });
        return {};
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.single(field, x, `${path}.${k}`, issues)]));
    }
    if (field.repeated) {
      if (!Array.isArray(v)) {
        issues.push({ path, message: `expected a list, got ${describe(v)}` });
        return [];
      }
      return v.map((x, i) => this.single(field, x, `${path}[${i}]`, issues));
    }
    return this.single(field, v, path, issues);
  }

  private single(field: protobuf.Field, v: unknown, path: string, issues: ProtoIssue[]): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) return this.message(rt, v, path, issues);
    if (rt instanceof protobuf.Enum) {
      if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(rt.values, v)) return v;
      if (typeof v === 'number' && Object.values(rt.values).includes(v)) return v;
      issues.push({ path, message: `${describe(v)} is not a value of enum ${rt.name} (${Object.keys(rt.values).join(', ')})` });
      return undefined;
    }
    return scalar(field.type, v, path, issues);
  }

  /** The protoc-gen-validate rules Envoy checks when it loads a config (the common ones). */
  private rules(field: protobuf.Field, v: unknown, path: string, issues: ProtoIssue[]): void {
    const o = (field.options ?? {}) as Record<string, unknown>;
    const minLen = o['(validate.rules).string.min_len'];
    if (typeof minLen === 'number' && typeof v === 'string' && v.length < minLen) issues.push({ path, message: `must be at least ${minLen} characters` });
    const minItems = o['(validate.rules).repeated.min_items'];
    if (typeof minItems === 'number' && Array.isArray(v) && v.length < minItems) issues.push({ path, message: `needs at least ${minItems} items` });
    const n = typeof v === 'number' ? v : isObject(v) && typeof v.value === 'number' ? v.value : undefined;
    if (n !== undefined) {
      for (const kind of ['uint32', 'int32', 'uint64', 'int64']) {
        const gt = o[`(validate.rules).${kind}.gt`];
        const gte = o[`(validate.rules).${kind}.gte`];
        const lt = o[`(validate.rules).${kind}.lt`];
        const lte = o[`(validate.rules).${kind}.lte`];
        if (typeof gt === 'number' && !(n > gt)) issues.push({ path, message: `must be > ${gt}` });
        if (typeof gte === 'number' && !(n >= gte)) issues.push({ path, message: `must be >= ${gte}` });
        if (typeof lt === 'number' && !(n < lt)) issues.push({ path, message: `must be < ${lt}` });
        if (typeof lte === 'number' && !(n <= lte)) issues.push({ path, message: `must be <= ${lte}` });
      }
    }
  }

  private wellKnown(full: string, v: unknown, path: string, issues: ProtoIssue[]): unknown {
    switch (full) {
      case 'google.protobuf.Any': {
        if (!isObject(v) || typeof v['@type'] !== 'string') {
          issues.push({ path, message: 'an Any needs an "@type"' });
          return {};
        }
        const url = v['@type'];
        const m = /^type\.googleapis\.com\/([A-Za-z0-9_.]+)$/.exec(url);
        const inner = m?.[1] ? this.type(m[1]) : undefined;
        if (!inner) {
          issues.push({ path: `${path}.@type`, message: `unknown type "${url}"` });
          return {};
        }
        const { '@type': _drop, ...body } = v;
        const before = issues.length;
        const plain = this.message(inner, body, path, issues);
        if (issues.length > before) return {};
        return { type_url: url, value: inner.encode(inner.fromObject(plain as Record<string, unknown>)).finish() };
      }
      case 'google.protobuf.Duration': {
        const m = typeof v === 'string' ? /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
        if (!m) {
          issues.push({ path, message: `a Duration is a string like "0.25s", got ${describe(v)}` });
          return {};
        }
        const sign = m[1] === '-' ? -1 : 1;
        return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
      }
      case 'google.protobuf.Empty':
        if (!isObject(v) || Object.keys(v).length > 0) issues.push({ path, message: 'google.protobuf.Empty must be {}' });
        return {};
      case 'google.protobuf.Struct':
        if (!isObject(v)) issues.push({ path, message: `a Struct must be an object, got ${describe(v)}` });
        return toStruct(isObject(v) ? v : {});
      case 'google.protobuf.Value':
        return toValue(v);
      case 'google.protobuf.BoolValue':
        return { value: scalar('bool', v, path, issues) };
      case 'google.protobuf.StringValue':
        return { value: scalar('string', v, path, issues) };
      case 'google.protobuf.UInt32Value':
        return { value: scalar('uint32', v, path, issues) };
      case 'google.protobuf.Int32Value':
        return { value: scalar('int32', v, path, issues) };
      case 'google.protobuf.UInt64Value':
        return { value: scalar('uint64', v, path, issues) };
      case 'google.protobuf.Int64Value':
        return { value: scalar('int64', v, path, issues) };
      case 'google.protobuf.DoubleValue':
      case 'google.protobuf.FloatValue':
        return { value: scalar('double', v, path, issues) };
      default:
        return NOT_WELL_KNOWN;
    }
  }
}

const NOT_WELL_KNOWN = Symbol('not well-known');

function scalar(type: string, v: unknown, path: string, issues: ProtoIssue[]): unknown {
  const bad = (what: string): undefined => {
    issues.push({ path, message: `expected ${what} (${type}), got ${describe(v)}` });
    return undefined;
  };
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : bad('a string');
    case 'bytes':
      return typeof v === 'string' ? v : bad('a base64 string');
    case 'bool':
      return typeof v === 'boolean' ? v : bad('true or false');
    case 'double':
    case 'float':
      return typeof v === 'number' ? v : bad('a number');
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? v : bad('an integer');
    case 'uint32':
    case 'fixed32':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32 ? v : bad('a non-negative integer');
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v)) ? v : bad('an integer');
    case 'uint64':
    case 'fixed64':
      return (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v)) ? v : bad('a non-negative integer');
    default:
      return bad(`a ${type}`);
  }
}

function toValue(v: unknown): unknown {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

function toStruct(o: Record<string, unknown>): unknown {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, x]) => [k, toValue(x)])) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

function toCamel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** " (did you mean x?)" for a near miss: edit distance <= 2. */
function suggest(key: string, names: string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const n of names) {
    const d = editDistance(key, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
