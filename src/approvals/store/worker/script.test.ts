import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { hostScript } from './script.js';

const root = tempDir('ascend-script-');
const touch = (path: string, mtimeS: number) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
  utimesSync(path, mtimeS, mtimeS);
};
const caller = join(root, 'src', 'approvals', 'store', 'worker', 'worker-store.ts');
const compiled = join(root, 'dist', 'approvals', 'store', 'worker', 'host.js');

describe('hostScript', () => {
  it('runs the host.js beside a compiled caller', () => {
    const js = pathToFileURL('/opt/app/dist/approvals/store/worker/worker-store.js').href;
    expect(hostScript(js).href).toBe('file:///opt/app/dist/approvals/store/worker/host.js');
  });

  it('runs the compiled copy under dist/ for a TypeScript caller, and refuses a missing or stale one', () => {
    touch(caller, 1000);
    touch(join(root, 'src', 'approvals', 'store', 'sqlite', 'approvals.test.ts'), 9000); // tests are not compiled
    expect(() => hostScript(pathToFileURL(caller).href)).toThrow(/host\.js is missing; run `npm run build`/);
    touch(compiled, 2000);
    expect(hostScript(pathToFileURL(caller).href).href).toBe(pathToFileURL(compiled).href);
    touch(join(root, 'src', 'approvals', 'store', 'sqlite', 'approvals.ts'), 3000);
    expect(() => hostScript(pathToFileURL(caller).href)).toThrow(/host\.js is older than .*sqlite\/approvals\.ts; run `npm run build`/);
  });

  it('refuses a caller outside a src/ tree', () => {
    expect(() => hostScript(pathToFileURL('/tmp/elsewhere/worker-store.ts').href)).toThrow(/cannot place/);
  });
});
