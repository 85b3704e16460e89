// External load tools from Debian packages, installed on first use (idempotent: a no-op when the
// binary is already on PATH). apt-get needs root; without it we say what to install.
import { execFileSync, spawnSync } from 'node:child_process';

const onPath = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/** Make sure `bin` exists, installing Debian package `pkg` with apt-get if needed. */
export function ensureTool(bin, pkg) {
  if (onPath(bin)) return;
  const root = process.getuid?.() === 0;
  if (!root && !onPath('sudo')) throw new Error(`${bin} is missing: install the Debian package ${pkg} (apt-get install ${pkg})`);
  const apt = (...args) => execFileSync(root ? 'apt-get' : 'sudo', root ? args : ['apt-get', ...args],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  console.error(`[bench] ${bin} not found: installing ${pkg} with apt-get`);
  try {
    apt('install', '-y', '--no-install-recommends', pkg);
  } catch {
    apt('update'); // a fresh container often has no package lists yet
    apt('install', '-y', '--no-install-recommends', pkg);
  }
  if (!onPath(bin)) throw new Error(`installed ${pkg} but ${bin} is still not on PATH`);
}
