#!/usr/bin/env bash
# Installs everything, builds, lints and runs every test (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
node -v
pnpm install --frozen-lockfile
# A real kube-apiserver (v1.20.2 from Debian's source package) for e2e/real-apiserver*.test.ts: built
# once into a cache outside the repository (about 7 minutes cold on 2 cores, under a second cached).
bash scripts/kube-apiserver/build.sh >/dev/null
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
