// The ONE place the benchmark harness finds its .proto files.
//
// ┌──────────────────────────────────────────────────────────────────────────────────────────┐
// │ SWITCH: BENCH_PROTOS=auto (default) | project | envoy                                    │
// │   auto    → the project's hand-written protos when                                       │
// │             protos/envoy/service/auth/v3/external_auth.proto exists, else Envoy's.       │
// │   project → <repo>/protos (fails loudly when missing).                                   │
// │   envoy   → Envoy's official protos shipped in the dev dependency @grpc/grpc-js-xds.     │
// └──────────────────────────────────────────────────────────────────────────────────────────┘
//
// Both sources declare the same field numbers and types, and protobufjs encodes fields in
// field-number order, so a frame built from either is byte-for-byte the same (the harness test
// checks it whenever both are present). The baseline grpc-js server loads through here too, so
// the baseline and the sidecar speak from the same definitions.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const AUTH_PROTO = 'envoy/service/auth/v3/external_auth.proto';
export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

const XDS_DEPS = path.join(REPO, 'node_modules/@grpc/grpc-js-xds/deps');
const SOURCES = {
  project: [path.join(REPO, 'protos')],
  envoy: ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => path.join(XDS_DEPS, d)),
};

/** Which proto source the harness uses, and its include dirs. */
export function protoSource(choice = process.env.BENCH_PROTOS ?? 'auto') {
  let name = choice;
  if (name === 'auto') name = existsSync(path.join(SOURCES.project[0], AUTH_PROTO)) ? 'project' : 'envoy';
  const includeDirs = SOURCES[name];
  if (!includeDirs) throw new Error(`BENCH_PROTOS must be auto, project or envoy (got ${choice})`);
  if (!existsSync(path.join(includeDirs[0], AUTH_PROTO))) {
    throw new Error(`BENCH_PROTOS=${name}: ${AUTH_PROTO} not found under ${includeDirs[0]} (run npm ci?)`);
  }
  return { name, includeDirs };
}

// Same options a typical grpc-js service uses: the baseline should pay what a plain server pays.
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true };

/** proto-loader package definition (for grpc-js servers/clients). */
export function loadPackageDefinition(choice) {
  const { includeDirs } = protoSource(choice);
  return protoLoader.loadSync(AUTH_PROTO, { ...LOADER_OPTIONS, includeDirs });
}

const typeCache = new Map();
/** protobufjs message types: { CheckRequest, CheckResponse, source }. */
export function loadTypes(choice) {
  const src = protoSource(choice);
  if (typeCache.has(src.name)) return typeCache.get(src.name);
  const root = new protobuf.Root();
  // Resolve imports against the include dirs; google/protobuf/* falls back to protobufjs's
  // bundled copies (what proto-loader does too).
  root.resolvePath = (_origin, target) => {
    for (const dir of src.includeDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(AUTH_PROTO, { keepCase: true });
  const types = {
    source: src.name,
    CheckRequest: root.lookupType('envoy.service.auth.v3.CheckRequest'),
    CheckResponse: root.lookupType('envoy.service.auth.v3.CheckResponse'),
  };
  typeCache.set(src.name, types);
  return types;
}
