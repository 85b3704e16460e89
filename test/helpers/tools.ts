/**
 * describe/it wrappers for tests that run a system tool (see tool-probe.ts): present → the
 * tests run; missing → skipped with a one-line reason in the title; missing under
 * ASCEND_TEST_REQUIRE_TOOLS=1 (CI) → one failing test naming the tool.
 */
import { describe, it } from 'vitest';
import { REQUIRE_TOOLS, systemTool, type SystemTool, type ToolName } from './tool-probe.js';

export { systemTool, type ToolName } from './tool-probe.js';

/** The first missing tool of several, if any. */
function firstMissing(names: readonly ToolName[]): SystemTool | undefined {
  return names.map(systemTool).find((t) => t.path === undefined);
}

/**
 * `describe` that runs only when every named tool is present. Otherwise the suite is
 * reported as skipped with the reason in its title, or, under ASCEND_TEST_REQUIRE_TOOLS=1,
 * replaced by one failing test that names the missing tool.
 */
export function describeWith(tools: ToolName | readonly ToolName[], title: string, body: () => void): void {
  const missing = firstMissing(typeof tools === 'string' ? [tools] : tools);
  if (!missing) {
    describe(title, body);
    return;
  }
  if (REQUIRE_TOOLS) {
    describe(title, () => {
      it(`needs ${missing.name}`, () => {
        throw new Error(`ASCEND_TEST_REQUIRE_TOOLS=1 and ${missing.reason}`);
      });
    });
    return;
  }
  describe.skipIf(true)(`${title} [skipped: ${missing.reason}]`, body);
}

/** `it` with the same rule as describeWith, for a single test. */
export function itWith(tools: ToolName | readonly ToolName[], title: string, fn: () => unknown, timeout?: number): void {
  const missing = firstMissing(typeof tools === 'string' ? [tools] : tools);
  if (!missing) {
    it(title, fn, timeout);
  } else if (REQUIRE_TOOLS) {
    it(title, () => {
      throw new Error(`ASCEND_TEST_REQUIRE_TOOLS=1 and ${missing.reason}`);
    });
  } else {
    it.skipIf(true)(`${title} [skipped: ${missing.reason}]`, fn);
  }
}
