/**
 * The README's "TLS and mTLS" snippets stay true: the Envoy transport socket is valid v3 config
 * by Envoy's own protos, and the sidecar settings shown are accepted by the config schema.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import AjvModule from 'ajv';
import { ServerSchema } from '../src/config/schema.js';
import { EnvoyProtos } from './helpers/envoy-proto.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## TLS and mTLS'), readme.indexOf('\n## ', readme.indexOf('## TLS and mTLS') + 5));
/** The fenced YAML blocks of the section, indentation of a list item removed. */
const blocks = [...section.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)].map((m) => parse((m[2] as string).split('\n').map((l) => l.slice((m[1] as string).length)).join('\n')) as Record<string, any>);

describe('README "TLS and mTLS"', () => {
  it('the server settings are what the schema accepts', () => {
    const server = blocks.find((b) => b.server !== undefined)!.server;
    const Ajv = AjvModule.default ?? AjvModule;
    const validate = new Ajv({ strict: false, useDefaults: true, allErrors: true }).compile(ServerSchema);
    const copy = structuredClone(server);
    expect(validate(copy), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...copy, tls: { ...copy.tls, require_client_cert: 'yes' } })).toBe(false);
    // The values the README shows as defaults are the schema's.
    const defaults = { tls: { cert_file: 'a', key_file: 'b' } } as Record<string, any>;
    validate(defaults);
    expect(server.tls).toMatchObject({ require_client_cert: defaults.tls.require_client_cert, reload_interval_ms: defaults.tls.reload_interval_ms });
  });

  it('the Envoy transport socket is valid v3 config, ALPN h2', () => {
    const socket = blocks.find((b) => b.transport_socket !== undefined)!.transport_socket;
    expect(new EnvoyProtos().validate('envoy.config.core.v3.TransportSocket', socket).issues).toEqual([]);
    expect(socket.typed_config.common_tls_context.alpn_protocols).toEqual(['h2']);
  });
});
