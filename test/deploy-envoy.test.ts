/**
 * deploy/envoy: both bootstraps checked against Envoy's own protos (field names, enums, oneofs,
 * deprecations, the common validate rules, typed_config by @type) and then against the sidecar's
 * documented contract: the ext_authz cluster points at the default gRPC port (9191) or, for the
 * http_service variant, the default HTTP port (8181), fail closed, body capped, jwt metadata
 * forwarded under the key the sidecar's identity source reads by default.
 *
 * Envoy itself cannot run on this machine (no envoy binary, no network to fetch one), so
 * `envoy --mode validate -c deploy/envoy/envoy.yaml` is NOT run here; the proto walk is the
 * substitute. Run that command wherever Envoy is installed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { ServerSchema, IdentitySourceSchema } from '../src/config/schema.js';
import { AUTHZ_SERVICE } from '../src/adapters/envoy/server.js';
import { decisionHeaders } from '../src/adapters/render.js';
import { EnvoyProtos } from './helpers/envoy-proto.js';
import { deployPath, isObject, yamlDoc } from './helpers/deploy.js';

type Obj = Record<string, unknown>;
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const serverDefaults = Value.Default(ServerSchema, {}) as { grpc_port: number; http_port: number };
/** The identity source's defaults: where the sidecar looks for JWT claims unless told otherwise. */
const jwtDefaults = Value.Default(IdentitySourceSchema.properties.jwt_claim, {}) as { namespace: string; payload_key: string; claim: string };

/** Every x-ascend-* header the sidecar can emit (src/adapters/render.ts): none may come from the client. */
const ASCEND_HEADERS = (() => {
  const base = { decision: { decision: 'allowed', riskScore: 1, policyId: 'p', flagged: true, failOpen: true, monitor: { wouldBe: 'denied' } } };
  const r = { ...base, actionId: 'a', approvalId: 'apr' } as unknown as Parameters<typeof decisionHeaders>[0];
  return decisionHeaders(r).map(([k]) => k).filter((k) => k.startsWith('x-ascend-'));
})();

let protos: EnvoyProtos;
beforeAll(() => {
  protos = new EnvoyProtos();
});

function load(name: string): Obj {
  return yamlDoc<Obj>(deployPath('envoy', name));
}

function at(o: unknown, ...path: (string | number)[]): unknown {
  let v = o;
  for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v;
}

function hcm(cfg: Obj): Obj {
  const f = at(cfg, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0) as Obj;
  expect(f.name).toBe('envoy.filters.network.http_connection_manager');
  return f.typed_config as Obj;
}

function httpFilters(cfg: Obj): { name: string; typed_config: Obj }[] {
  return hcm(cfg).http_filters as { name: string; typed_config: Obj }[];
}

function filter(cfg: Obj, name: string): Obj {
  const f = httpFilters(cfg).find((x) => x.name === name);
  expect(f, `http filter ${name}`).toBeDefined();
  return f!.typed_config;
}

function cluster(cfg: Obj, name: string): Obj {
  const c = (at(cfg, 'static_resources', 'clusters') as Obj[]).find((x) => x.name === name);
  expect(c, `cluster ${name}`).toBeDefined();
  return c!;
}

function endpointPort(c: Obj): { address: string; port: number } {
  const sa = at(c, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address') as Obj;
  return { address: sa.address as string, port: sa.port_value as number };
}

describe.each(['envoy.yaml', 'envoy-http-service.yaml'])('deploy/envoy/%s against Envoy protos', (file) => {
  it('every field, enum and typed_config is valid v3 config and encodes', () => {
    const r = protos.validate(BOOTSTRAP, load(file));
    expect(r.issues).toEqual([]);
    expect(r.encoded?.length).toBeGreaterThan(500);
  });

  it('uses the edge path normalization Envoy recommends', () => {
    const h = hcm(load(file));
    expect(h.normalize_path).toBe(true);
    expect(h.merge_slashes).toBe(true);
    expect(['UNESCAPE_AND_REDIRECT', 'REJECT_REQUEST']).toContain(h.path_with_escaped_slashes_action);
    expect(h.use_remote_address).toBe(true);
  });

  it('orders the filters: strip spoofable headers, verify JWT, authorize, route', () => {
    const names = httpFilters(load(file)).map((f) => f.name);
    expect(names).toEqual([
      'envoy.filters.http.header_mutation',
      'envoy.filters.http.jwt_authn',
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.router',
    ]);
    const removed = (at(filter(load(file), 'envoy.filters.http.header_mutation'), 'mutations', 'request_mutations') as Obj[]).map((m) => m.remove);
    for (const h of ['x-agent-id', ...ASCEND_HEADERS]) expect(removed).toContain(h);
  });

  it('fails closed with a bounded timeout and a capped body', () => {
    const ea = filter(load(file), 'envoy.filters.http.ext_authz');
    expect(ea.transport_api_version).toBe('V3');
    expect(ea.failure_mode_allow).toBe(false);
    expect(ea.with_request_body).toEqual({ max_request_bytes: 8192, allow_partial_message: true, pack_as_bytes: false });
    const timeout = (at(ea, 'grpc_service', 'timeout') ?? at(ea, 'http_service', 'server_uri', 'timeout')) as string;
    const seconds = Number(timeout.replace(/s$/, ''));
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(1);
  });

  it('puts the JWT payload where the sidecar looks by default', () => {
    const jwt = filter(load(file), 'envoy.filters.http.jwt_authn');
    const providers = jwt.providers as Record<string, Obj>;
    const [p] = Object.values(providers);
    expect(p!.payload_in_metadata).toBe(jwtDefaults.payload_key);
    const jwks = JSON.parse(at(p, 'local_jwks', 'inline_string') as string) as { keys: Obj[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: 'replace-me' });
    expect(jwks.keys[0]).not.toHaveProperty('d'); // a public key only
  });

  it('routes to the app cluster, and every referenced cluster exists', () => {
    const cfg = load(file);
    const names = (at(cfg, 'static_resources', 'clusters') as Obj[]).map((c) => c.name);
    const routes = at(hcm(cfg), 'route_config', 'virtual_hosts', 0, 'routes') as Obj[];
    for (const r of routes) expect(names).toContain(at(r, 'route', 'cluster'));
    const ea = filter(cfg, 'envoy.filters.http.ext_authz');
    const authzCluster = (at(ea, 'grpc_service', 'envoy_grpc', 'cluster_name') ?? at(ea, 'http_service', 'server_uri', 'cluster')) as string;
    expect(names).toContain(authzCluster);
    for (const c of at(cfg, 'static_resources', 'clusters') as Obj[]) expect(at(c, 'load_assignment', 'cluster_name')).toBe(c.name);
  });
});

describe('deploy/envoy/envoy.yaml (gRPC)', () => {
  const cfg = (): Obj => load('envoy.yaml');

  it('points the ext_authz cluster at the sidecar default gRPC port over HTTP/2', () => {
    expect(serverDefaults.grpc_port).toBe(9191);
    const ea = filter(cfg(), 'envoy.filters.http.ext_authz');
    expect(at(ea, 'grpc_service', 'envoy_grpc', 'cluster_name')).toBe('ascend_sidecar');
    const c = cluster(cfg(), 'ascend_sidecar');
    expect(endpointPort(c)).toEqual({ address: '127.0.0.1', port: serverDefaults.grpc_port });
    const opts = at(c, 'typed_extension_protocol_options', 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions') as Obj;
    expect(opts['@type']).toBe('type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    expect(isObject(at(opts, 'explicit_http_config', 'http2_protocol_options'))).toBe(true);
    expect(c.connect_timeout).toMatch(/^\d+(\.\d+)?s$/);
  });

  it('health-checks the sidecar with grpc.health.v1 for a service it knows', () => {
    const hc = at(cluster(cfg(), 'ascend_sidecar'), 'health_checks', 0, 'grpc_health_check') as Obj;
    expect(['', AUTHZ_SERVICE]).toContain(hc.service_name);
  });

  it('forwards jwt_authn metadata and the peer certificate', () => {
    const ea = filter(cfg(), 'envoy.filters.http.ext_authz');
    expect(ea.metadata_context_namespaces).toContain(jwtDefaults.namespace);
    expect(jwtDefaults.namespace).toBe('envoy.filters.http.jwt_authn');
    expect(ea.include_peer_certificate).toBe(true);
  });
});

describe('deploy/envoy/envoy-http-service.yaml (http_service)', () => {
  const cfg = (): Obj => load('envoy-http-service.yaml');

  it('calls /forward-auth on the sidecar default HTTP port', () => {
    expect(serverDefaults.http_port).toBe(8181);
    const hs = filter(cfg(), 'envoy.filters.http.ext_authz').http_service as Obj;
    expect(hs.path_prefix).toBe('/forward-auth');
    expect(at(hs, 'server_uri', 'uri')).toBe(`http://127.0.0.1:${serverDefaults.http_port}`);
    expect(endpointPort(cluster(cfg(), at(hs, 'server_uri', 'cluster') as string))).toEqual({ address: '127.0.0.1', port: serverDefaults.http_port });
  });

  it('passes the x-ascend-* headers to the upstream and the client', () => {
    const resp = at(filter(cfg(), 'envoy.filters.http.ext_authz'), 'http_service', 'authorization_response') as Obj;
    expect(at(resp, 'allowed_upstream_headers', 'patterns')).toContainEqual({ prefix: 'x-ascend-' });
    expect(at(resp, 'allowed_client_headers', 'patterns')).toContainEqual({ prefix: 'x-ascend-' });
  });

  it('sends the identity header the sidecar reads, set from the verified JWT only', () => {
    const c = cfg();
    const allowed = at(filter(c, 'envoy.filters.http.ext_authz'), 'allowed_headers', 'patterns') as Obj[];
    expect(allowed).toContainEqual({ exact: 'x-agent-id' });
    // A cut body must reach the sidecar marked as cut (README "Request bodies").
    expect(allowed).toContainEqual({ exact: 'x-envoy-auth-partial-body' });
    const provider = Object.values(filter(c, 'envoy.filters.http.jwt_authn').providers as Record<string, Obj>)[0]!;
    expect(provider.claim_to_headers).toContainEqual({ header_name: 'x-agent-id', claim_name: 'sub' });
  });

  it('health-checks the sidecar on /readyz', () => {
    const hs = filter(cfg(), 'envoy.filters.http.ext_authz').http_service as Obj;
    const c = cluster(cfg(), at(hs, 'server_uri', 'cluster') as string);
    expect(at(c, 'health_checks', 0, 'http_health_check', 'path')).toBe('/readyz');
  });
});

describe('the proto walk catches mistakes (so a green run means something)', () => {
  const mutate = (edit: (cfg: Obj) => void): string[] => {
    const cfg = load('envoy.yaml');
    edit(cfg);
    return protos.validate(BOOTSTRAP, cfg).issues.map((i) => `${i.path}: ${i.message}`);
  };
  const ea = (cfg: Obj): Obj => filter(cfg, 'envoy.filters.http.ext_authz');

  it('a misspelt field', () => {
    const issues = mutate((c) => {
      const e = ea(c);
      e.failure_mode_alow = e.failure_mode_allow;
      delete e.failure_mode_allow;
    });
    expect(issues.join('\n')).toMatch(/unknown field "failure_mode_alow".*did you mean "failure_mode_allow"/);
  });

  it('a camelCase field name', () => {
    expect(mutate((c) => void (ea(c).transportApiVersion = 'V3')).join('\n')).toMatch(/write it as "transport_api_version"/);
  });

  it('a wrong enum value', () => {
    expect(mutate((c) => void (hcm(c).path_with_escaped_slashes_action = 'UNESCAPE')).join('\n')).toMatch(/not a value of enum/);
  });

  it('an unknown @type', () => {
    expect(mutate((c) => void (httpFilters(c)[2]!.typed_config['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuth')).join('\n')).toMatch(/unknown type/);
  });

  it('a deprecated field', () => {
    const issues = mutate((c) => {
      ea(c).http_service = { server_uri: { uri: 'http://x', cluster: 'ascend_sidecar', timeout: '1s' }, authorization_request: { allowed_headers: { patterns: [{ exact: 'a' }] } } };
    });
    expect(issues.join('\n')).toMatch(/deprecated/);
    expect(issues.join('\n')).toMatch(/"http_service" and "grpc_service" are both set|"grpc_service" and "http_service"/);
  });

  it('a bad duration and a missing required field', () => {
    const issues = mutate((c) => {
      const hc = at(cluster(c, 'ascend_sidecar'), 'health_checks', 0) as Obj;
      hc.interval = '5';
      delete hc.unhealthy_threshold;
    });
    expect(issues.join('\n')).toMatch(/Duration is a string/);
    expect(issues.join('\n')).toMatch(/unhealthy_threshold is required/);
  });

  it('a capped body of zero bytes (validate rule uint32.gt)', () => {
    expect(mutate((c) => void ((ea(c).with_request_body as Obj).max_request_bytes = 0)).join('\n')).toMatch(/must be > 0/);
  });
});
