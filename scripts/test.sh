#!/usr/bin/env bash
# Installs everything, builds, lints and runs every test (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
node -v
pnpm install --frozen-lockfile
pnpm run build
pnpm run lint
results="$(mktemp)"
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results" || status=$?
# One plain closing line, whatever the runner prints above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$results" || true
rm -f "$results"
exit "$status"
