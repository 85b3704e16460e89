#!/usr/bin/env node
// npm run bench → the short gRPC run (< 3 minutes on 2 vCPU): the sidecar vs a bare grpc-js
// server, alternated A B A B, ratios per pair and their median. `--full` for everything,
// `--help` for options. Results: bench/results/latest.json; `--write-readme` updates bench/README.md.
import { grpcScenarios, grpcServers } from './scenarios.mjs';
import { parseSuiteArgs, runSuite } from './lib/suite.mjs';

const opts = parseSuiteArgs();
await runSuite({ suite: 'grpc', scenarios: grpcScenarios(), servers: grpcServers({ cacheOff: opts['cache-off'] }), opts, readmeSection: 'grpc' });
