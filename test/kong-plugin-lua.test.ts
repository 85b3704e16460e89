/**
 * The Kong plugin's busted suite (deploy/kong/spec) runs in `npm test`, so the plugin side
 * of the shared fixture is checked whenever the sidecar side is. busted is installed by
 * scripts/install-test-deps.sh (.ci/run); without it this test skips with the reason (and
 * fails in CI, where ASCEND_TEST_REQUIRE_TOOLS=1).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeWith } from './helpers/tools.js';

const RUN_TESTS = fileURLToPath(new URL('../deploy/kong/run-tests.sh', import.meta.url));

describeWith('busted', 'Kong plugin (Lua, busted)', () => {
  it('deploy/kong/run-tests.sh exits 0', () => {
    const run = spawnSync(RUN_TESTS, ['--', '--output=plainTerminal'], { encoding: 'utf8', timeout: 120_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.error, output).toBeUndefined();
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/[1-9][0-9]* successes? \/ 0 failures? \/ 0 errors?/);
  });
});
