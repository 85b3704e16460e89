#!/usr/bin/env node
// The baseline: a bare grpc-js server that answers every Check with a constant OK.
//
// It pays exactly what a plain grpc-js service pays — proto-loader (de)serialization of the
// whole CheckRequest, grpc-js's per-call machinery — and nothing else: no logging, no metrics,
// no decision. Same protos (bench/lib/protos.mjs) and the same @grpc/grpc-js version as the
// sidecar, so "candidate ÷ baseline" isolates what the sidecar adds or saves.
//
//   node bench/baseline/grpc-bare.mjs --port 9191     (0 = pick a free port; logged as JSON)
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';
import { loadPackageDefinition, protoSource } from '../lib/protos.mjs';

const { values } = parseArgs({ options: {
  port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' },
} });

const pkg = grpc.loadPackageDefinition(loadPackageDefinition());
const OK = { status: { code: 0 }, ok_response: {} };

const server = new grpc.Server();
server.addService(pkg.envoy.service.auth.v3.Authorization.service, {
  Check(_call, callback) {
    callback(null, OK);
  },
});

server.bindAsync(`${values.host}:${values.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(JSON.stringify({ level: 'error', msg: 'bind failed', err: err.message }));
    process.exit(1);
  }
  console.log(JSON.stringify({ level: 'info', msg: 'grpc-bare listening', grpc_port: port,
    protos: protoSource().name, pid: process.pid }));
});

// Graceful first; connections a load generator left open must not hold the harness up.
const stop = () => {
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => { server.forceShutdown(); process.exit(0); }, 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
