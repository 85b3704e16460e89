/**
 * The Kong plugin's busted suite (deploy/kong/spec) runs in `npm test`, so the plugin side
 * of the shared fixture is checked whenever the sidecar side is. busted is installed by
 * scripts/install-test-deps.sh (.ci/run); without it this test fails, it does not skip.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUN_TESTS = fileURLToPath(new URL('../deploy/kong/run-tests.sh', import.meta.url));

describe('Kong plugin (Lua, busted)', () => {
  it('deploy/kong/run-tests.sh exits 0', () => {
    const busted = spawnSync('sh', ['-c', 'command -v busted'], { encoding: 'utf8' });
    if (busted.status !== 0) {
      throw new Error('busted is not installed: run scripts/install-test-deps.sh (apt-get install lua-busted lua-cjson lua-yaml luajit)');
    }
    const run = spawnSync(RUN_TESTS, ['--', '--output=plainTerminal'], { encoding: 'utf8', timeout: 120_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/[1-9][0-9]* successes? \/ 0 failures? \/ 0 errors?/);
  });
});
