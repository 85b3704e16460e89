#!/usr/bin/env node
// HTTP adapters under load: the sidecar's Kong endpoint and forward-auth vs a bare fastify
// handler, with wrk, alternated A B A B with per-pair ratios (same options as bench/run.mjs).
// Results: bench/results/http.json; --write-readme updates the HTTP section of bench/README.md.
import { httpScenarios, httpServers } from './http-scenarios.mjs';
import { parseSuiteArgs, runSuite } from './lib/suite.mjs';

const opts = parseSuiteArgs();
await runSuite({ suite: 'http', scenarios: httpScenarios(), servers: httpServers(), opts, readmeSection: 'http' });
