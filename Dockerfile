# syntax=docker/dockerfile:1
# ascend-sidecar: multi-stage build, production dependencies only, runs as the non-root
# "node" user. Build: docker build -t ascend-sidecar .   Run: see README "Docker".

# 1. Compile TypeScript with the full (dev) dependency set.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY protos ./protos
COPY scripts/build-console.mjs ./scripts/
RUN npm run build

# 2. Production dependencies only. Lifecycle scripts are skipped (our "prepare" needs the
#    compiler); native modules are then rebuilt explicitly.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild --no-audit --no-fund \
 && npm cache clean --force

# 3. Runtime image.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY protos ./protos
COPY examples ./examples
# A config that works out of the box; mount your own over /etc/ascend/config.yaml.
COPY examples/quickstart.yaml /etc/ascend/config.yaml
# A place the non-root user may write (store.path: /data/ascend.db); a named volume mounted
# here starts with this ownership.
RUN mkdir -p /data && chown node:node /data
USER node
# 9191: Envoy ext_authz gRPC. 8181: Kong, forward-auth, REST API, /metrics, /healthz, /readyz.
EXPOSE 9191 8181
# Liveness of the HTTP listener (adjust the port if you change server.http_port).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8181/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve", "--config", "/etc/ascend/config.yaml"]
