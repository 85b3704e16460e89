/**
 * Raw HTTP/2 gRPC calls with exactly the bytes and headers a test gives: for malformed input
 * a real gRPC client would never send.
 */
import { connect as h2connect, constants as h2 } from 'node:http2';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../../src/adapters/envoy/protos.js';
import { checkRequest, type CheckInput } from './grpc-client.js';

const root = new protobuf.Root();
root.resolvePath = (_o, t) => `${PROTO_DIR}${t}`;
root.loadSync('envoy/service/auth/v3/external_auth.proto', { keepCase: true });
const CheckRequest = root.lookupType('envoy.service.auth.v3.CheckRequest');

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

/** A serialized CheckRequest shaped like Envoy's. */
export function checkRequestBytes(i: CheckInput): Uint8Array {
  return CheckRequest.encode(CheckRequest.fromObject(checkRequest(i) as object)).finish();
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, payload. */
export function frame(payload: Uint8Array, compressed = 0, length = payload.length): Buffer {
  const f = Buffer.alloc(5 + payload.length);
  f[0] = compressed;
  f.writeUInt32BE(length, 1);
  Buffer.from(payload).copy(f, 5);
  return f;
}

export interface H2Answer {
  status: number | undefined;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  body: Buffer;
}

/** One raw HTTP/2 request (POST to Check unless the headers say otherwise). */
export function h2Call(port: number, body: Buffer, extra: Record<string, string> = {}): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: CHECK_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    });
    const a: H2Answer = { status: undefined, grpcStatus: undefined, grpcMessage: undefined, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    const grpcFields = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) a.grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) a.grpcMessage = String(h['grpc-message']);
    };
    req.on('response', (h) => {
      a.status = Number(h[':status']);
      grpcFields(h);
    });
    req.on('trailers', grpcFields);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      session.close();
      a.body = Buffer.concat(chunks);
      resolve(a);
    });
    req.on('error', reject);
    if (extra[h2.HTTP2_HEADER_METHOD] === 'GET') req.end();
    else req.end(body);
  });
}
