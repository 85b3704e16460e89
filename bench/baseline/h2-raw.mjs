#!/usr/bin/env node
// Reference point: node:http2 answering every Check with a constant OK, no grpc-js at all.
import { parseArgs } from 'node:util';
import http2 from 'node:http2';
const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
// CheckResponse{status{code:0}, ok_response{}}: field 1 (len 0) + field 2 (len 0)
const msg = Buffer.from([0x0a, 0x00, 0x12, 0x00]);
const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.end(frame);
  });
});
server.listen(+values.port, values.host, () => {
  console.log(JSON.stringify({ level: 'info', msg: 'h2-raw listening', grpc_port: server.address().port, pid: process.pid }));
});
process.on('SIGTERM', () => process.exit(0));
