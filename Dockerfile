# The gateway image: built with pnpm on Node 24; the final stage holds only the gateway's production
# dependencies (pnpm deploy --prod: no dev tools, no test-only packages such as api-server-fixture) and
# runs as the numeric non-root user 1000 ("node" in the base image), so that Kubernetes' runAsNonRoot
# can verify it. Cluster mode by default; the standalone variant passes --config instead:
#   docker run ingress-gateway:dev --config /etc/ingress-gateway
FROM node:24-bookworm-slim AS build
WORKDIR /src
RUN npm i -g -E pnpm@12.4.2
# Dependencies first, from the lockfile alone: this layer survives source changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile \
  && pnpm run build \
  && pnpm --filter @gateway/gateway deploy --prod /app

FROM node:24-bookworm-slim
# glibc gives each thread that allocates an arena of its own (up to 8 per core) and keeps their freed
# pages: 2 arenas hold the peak of a 10,000-Ingress cluster at ~262 MB instead of ~290-305 (one thread
# does the work; V8's helper threads allocate little), with no slower rebuild or data path (measured,
# benchmarks/README.md). The benchmarks run the gateway with it too.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
# Owned by root and not writable by the gateway's user; the pods also mount the root filesystem
# read-only.
COPY --from=build /app /app
USER 1000:1000
# 8080 HTTP, 8443 HTTPS, 10254 admin (/metrics, /healthz, /readyz).
EXPOSE 8080 8443 10254
# V8 would grow the young generation to 128 MB on a large node and let the garbage of each rebuild pile
# up to its default old-space limit. 8 MB semi-spaces: ~111 MB RSS under load instead of ~129 (16 MB),
# and 10,000 Ingresses peak at ~285 MB instead of ~308, with no slower rebuild; figures in
# benchmarks/README.md.
# The Deployment's NODE_OPTIONS sets --max-old-space-size below the container's memory limit.
# --no-parallel-scavenge: a serving process has one core; the helper threads of a parallel scavenge
# (about 25 a second under load) only preempted it (apps/gateway/src/worker-fleet.ts, WORKER_V8_FLAGS).
ENTRYPOINT ["node", "--max-semi-space-size=8", "--no-parallel-scavenge", "/app/dist/cli.js"]
CMD ["--kubernetes"]
