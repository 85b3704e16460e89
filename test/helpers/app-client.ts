/** An in-process app (app.ts) with a gRPC ext_authz client to it, for one test. */
import { startApp, type StartOptions, type TestApp } from './app.js';
import { AuthzClient } from './grpc-client.js';

/** Runs `run` with an app built from `yaml` and a gRPC ext_authz client to it; closes both after, however `run` ends. */
export async function withAppAndClient<T>(yaml: string, run: (t: TestApp, c: AuthzClient) => Promise<T>): Promise<T>;
export async function withAppAndClient<T>(yaml: string, opts: StartOptions, run: (t: TestApp, c: AuthzClient) => Promise<T>): Promise<T>;
export async function withAppAndClient<T>(
  yaml: string, ...rest: [(t: TestApp, c: AuthzClient) => Promise<T>] | [StartOptions, (t: TestApp, c: AuthzClient) => Promise<T>]
): Promise<T> {
  const [opts, run] = rest.length === 1 ? [{}, rest[0]] : rest;
  const t = await startApp(yaml, opts);
  const c = new AuthzClient(t.grpcPort);
  try {
    return await run(t, c);
  } finally {
    c.close();
    await t.close();
  }
}
