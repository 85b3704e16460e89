/**
 * How much V8 lets the old space grow past what is live before its next full GC. Left to
 * itself V8 picks a factor of up to 4× (it sees full GCs as cheap next to the mutator), so a
 * sidecar with 35 MiB live sat at 200–300 MiB RSS under load. 50 % holds RSS near 135 MiB
 * with 100,000 cached decisions; each full GC then comes sooner but is shorter (bench/README.md).
 *
 * The V8 flag is read at every GC, so setting it after start-up takes effect at once. A
 * `--heap-growing-percent` given to node itself wins: whoever started the process chose.
 */
import v8 from 'node:v8';

export function applyHeapGrowth(percent: number, execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return undefined;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
