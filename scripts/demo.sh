#!/usr/bin/env bash
# Installs, builds and starts the gateway on examples/seed.yaml with its demo backends.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
pnpm install --frozen-lockfile
pnpm run build
exec node examples/demo.mjs "$@"
