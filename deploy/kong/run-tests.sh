#!/usr/bin/env bash
# Runs the ascend Kong plugin specs with busted, from any working directory.
# Exits non-zero when a spec fails or busted is missing.
#
#   deploy/kong/run-tests.sh                 run the specs
#   deploy/kong/run-tests.sh --install-deps  first apt-get install busted,
#                                            lua-cjson, lua-yaml and luajit if missing
#   deploy/kong/run-tests.sh -- --filter=deny   pass options on to busted
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "${1:-}" = "--install-deps" ]; then
  shift
  if ! command -v busted >/dev/null 2>&1 || ! command -v luajit >/dev/null 2>&1 \
     || ! lua -e 'require "cjson"; require "lyaml"' >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua-busted lua-cjson lua-yaml luajit >/dev/null
  fi
fi
[ "${1:-}" = "--" ] && shift

if ! command -v busted >/dev/null 2>&1; then
  echo "busted not found: apt-get install -y lua-busted lua-cjson lua-yaml" >&2
  echo "(or run: $0 --install-deps)" >&2
  exit 127
fi

# Kong runs plugins on LuaJIT (Lua 5.1 semantics): use it when it is here
# (Debian package luajit), else busted's default interpreter.
lua_opt=()
if command -v luajit >/dev/null 2>&1; then
  lua_opt=(--lua=luajit)
fi

# .busted in this folder sets the spec root and the Lua path; the specs read
# kong.yml and ../../test/fixtures/kong/plugin-requests.json relative to it.
cd "$here"
exec busted "${lua_opt[@]}" "$@"
