#!/usr/bin/env bash
# Builds Parity's substrate-telemetry backend, the `telemetry_core` and `telemetry_shard` binaries,
# for `cargo bench --bench stream_load -- --substrate-telemetry DIR`, which runs the same load
# against them to compare CPU per frame. Pinned to the commit the bench was run against, so that
# figures from different machines compare the same peer.
#
#   scripts/substrate-telemetry-backend.sh [CLONE_DIR]   (default: target/substrate-telemetry)
#
# Clones the repository (or reuses the clone), builds backend/ in release mode and prints the two
# binaries' paths and the bench's command. Needs git, cargo and GitHub; about 10 min on 2 cores.
set -euo pipefail

commit=74def27a16217cb8623d570a77daa01ed4b2799b
dir=${1:-"$(cd "$(dirname "$0")/.." && pwd)/target/substrate-telemetry"}

if [ ! -d "$dir/.git" ]; then
    git clone --quiet https://github.com/paritytech/substrate-telemetry "$dir"
fi
# A clone made before the pin moved does not have the commit yet.
git -C "$dir" cat-file -e "$commit^{commit}" 2>/dev/null || git -C "$dir" fetch --quiet origin
git -C "$dir" checkout --quiet --detach "$commit"

# An explicit target dir: CARGO_TARGET_DIR in the caller's environment would put the binaries
# elsewhere than the paths printed below.
release="$dir/backend/target/release"
(cd "$dir/backend" && cargo build --release --locked --target-dir "$dir/backend/target")

echo "$release/telemetry_core"
echo "$release/telemetry_shard"
echo "cargo bench --bench stream_load -- --substrate-telemetry $release"
