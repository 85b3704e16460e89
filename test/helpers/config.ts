/** Config issues as `ascend-sidecar validate` prints them ([] when the config loads). */
import { ConfigError, formatIssue } from '../../src/config/errors.js';
import { runtimeFromText } from '../../src/config/runtime.js';

export function configIssues(text: string): string[] {
  try {
    runtimeFromText(text, 'test.yaml', 1);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  return [];
}
