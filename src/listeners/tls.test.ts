import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { ServerSchema, type Config } from '../config/schema.js';
import { listenerTls } from './tls.js';

const server = (s: unknown) => Value.Default(ServerSchema, s) as Config['server'];
const tls = { cert_file: 'a.crt', key_file: 'a.key' };

describe('listenerTls', () => {
  it('server.tls covers every listener; a listener\'s own setting replaces it', () => {
    const s = server({ tls, grpc_tls: { cert_file: 'g.crt', key_file: 'g.key' }, http_tls: { enabled: false } });
    expect(listenerTls(s, 'grpc')).toMatchObject({ field: 'grpc_tls', settings: { cert_file: 'g.crt' } });
    expect(listenerTls(s, 'http')).toBeUndefined();
    expect(listenerTls(s, 'gateway_http')).toMatchObject({ field: 'tls', settings: { cert_file: 'a.crt', require_client_cert: false, reload_interval_ms: 5000 } });
  });

  it('no TLS setting: plain text', () => {
    expect(listenerTls(server({}), 'grpc')).toBeUndefined();
    expect(listenerTls(server({ http_tls: tls }), 'grpc')).toBeUndefined();
  });
});
