#!/usr/bin/env bash
# Installs everything, builds, lints and runs every test (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
node -v
pnpm install --frozen-lockfile
pnpm run build
pnpm run lint
pnpm run test
