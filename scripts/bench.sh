#!/usr/bin/env bash
# `pnpm bench`: every benchmark, from a fresh clone. Installs what they need first: Node.js 24 and pnpm
# (scripts/env.sh), Debian's wrk, nginx-light, openssl and util-linux (taskset) when missing, with
# apt-get as root or through `sudo -n`; then the packages and the build. Arguments go to the yardstick
# (`bash scripts/bench.sh --quick`, `pnpm bench --scenarios small-c64,small-c256`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
missing=()
for pair in wrk:wrk nginx:nginx-light openssl:openssl taskset:util-linux; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  echo "bench: installing ${missing[*]} with apt-get" >&2
  "${sudo[@]}" apt-get update -qq >&2
  # nginx's package starts no service the benchmarks rely on: they start their own on free ports.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
pnpm install --frozen-lockfile >&2
pnpm run build >&2
node benchmarks/proxy-vs-nginx.mjs "$@"
node packages/routing/bench/route-table.bench.ts
node benchmarks/cluster-scale.mjs
node benchmarks/file-scale.mjs
node benchmarks/workers-scaling.mjs
