#!/bin/sh
# Install the pinned packages (package-lock.json) into ./node_modules (gitignored) and run
# Lodestar's own client-stats reporter against a loopback receiver; the bodies it POSTs
# land in fixtures/reporters/lodestar/. Needs Node.js >= 20 and npm; talks to the npm
# registry only, and only while installing.
#   scripts/lodestar-reporter/run.sh [--out DIR]
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/@lodestar/beacon-node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # `npm install`, not `npm ci`: the registry this lock was made from only had the
    # linux-x64-gnu build of @chainsafe/libp2p-quic's optional platform packages, so the
    # lock lists only that one and `npm ci` calls it out of sync; `npm install` still
    # installs exactly the locked versions and leaves package-lock.json unchanged.
    # --ignore-scripts: the only install script in the tree is classic-level's native
    # LevelDB build, which the reporter never loads.
    npm install --ignore-scripts --no-audit --no-fund
fi
exec node record.mjs "$@"
