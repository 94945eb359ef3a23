#!/usr/bin/env bash
# Builds third_party/substrate-telemetry-frontend/build again from its source/ (the real frontend
# the feed test drives): npm ci and webpack's production build, on Node 20, in a scratch copy so
# that source/ stays as it came. Needs node and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../third_party/substrate-telemetry-frontend"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r source/. "$scratch"
(cd "$scratch" && npm ci --no-audit --no-fund && npm run build)
rm -rf build
cp -r "$scratch/build" build
echo "built: $(ls build/main.*.js)"
