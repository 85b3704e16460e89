/**
 * Runs once before the suite: one line per optional system tool that is missing, so a
 * developer sees at the top of `npm test` which integration tests will skip and why.
 */
import { REQUIRE_TOOLS, TOOLS, systemTool, type ToolName } from './helpers/tool-probe.js';

export default function setup(): void {
  const missing = (Object.keys(TOOLS) as ToolName[]).map(systemTool).filter((t) => t.path === undefined);
  if (missing.length === 0) return;
  const verb = REQUIRE_TOOLS ? 'FAIL (ASCEND_TEST_REQUIRE_TOOLS=1)' : 'skip';
  for (const t of missing) process.stderr.write(`[tests] ${verb}: ${t.reason}\n`);
}
