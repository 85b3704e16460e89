import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { AuthzClient, decisionOf } from './helpers/grpc-client.js';
import { startApp, type TestApp } from './helpers/app.js';

const CORE = readFileSync(new URL('../examples/quickstart.yaml', import.meta.url), 'utf8');

describe('smoke', () => {
  let t: TestApp;
  let c: AuthzClient;
  beforeAll(async () => {
    t = await startApp(CORE);
    c = new AuthzClient(t.grpcPort);
  });
  afterAll(async () => {
    c.close();
    await t.close();
  });
  it('answers', async () => {
    const r = await c.check({ method: 'GET', path: '/v1/orders/1' });
    expect(decisionOf(r)).toBe('allowed');
    expect(t.decisions()).toHaveLength(1);
  });
});
