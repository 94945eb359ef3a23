#!/usr/bin/env bash
# Builds Parity's substrate-telemetry backend, the `telemetry_core` and `telemetry_shard` binaries,
# for `cargo bench --bench stream_load -- --substrate-telemetry DIR`, which runs the same load
# against them to compare CPU per frame. Pinned to the commit the bench was run against, so that
# figures from different machines compare the same peer.
#
#   scripts/substrate-telemetry-backend.sh [CLONE_DIR]   (default: target/substrate-telemetry)
#
# Clones the repository (or reuses the clone), builds backend/ in release mode and prints the two
# binaries' paths and the bench's command. Needs git, cargo and GitHub (or the variable below);
# about 10 min on 2 cores.
#
# SUBSTRATE_TELEMETRY_REPO, if set, is cloned instead of GitHub (a local mirror or any git URL),
# for machines without GitHub access. A mirror may leave out telemetry_core's GeoLite2-City.mmdb, a
# large file it include_bytes!es, and a checkout may hold only its Git LFS pointer: the script then
# writes an empty GeoLite2-City database there, with python3 and PyPI's mmdb-writer in a throwaway
# venv.
set -euo pipefail

commit=74def27a16217cb8623d570a77daa01ed4b2799b
dir=${1:-"$(cd "$(dirname "$0")/.." && pwd)/target/substrate-telemetry"}
repo=${SUBSTRATE_TELEMETRY_REPO:-https://github.com/paritytech/substrate-telemetry}
mmdb=backend/telemetry_core/src/GeoLite2-City.mmdb

if [ ! -d "$dir/.git" ]; then
    # No checkout of the default branch: it would fail on a mirror's missing blob, and the pinned
    # commit is checked out below anyway.
    git clone --quiet --no-checkout "$repo" "$dir"
fi
# A clone made before the pin moved does not have the commit yet.
git -C "$dir" cat-file -e "$commit^{commit}" 2>/dev/null || git -C "$dir" fetch --quiet origin
# Checking out a missing blob fails, so leave the database out of the work tree; it is written
# below. Git still prints "invalid object" for it on each checkout, harmlessly.
if ! git -C "$dir" cat-file -e "$commit:$mmdb" 2>/dev/null; then
    git -C "$dir" sparse-checkout set --no-cone '/*' "!/$mmdb"
fi
git -C "$dir" checkout --quiet --detach "$commit"

# telemetry_core include_bytes!es the database, so without a real one the build fails. An empty one
# only leaves every node's location unknown, which the bench does not read.
db="$dir/$mmdb"
# An LFS pointer is a small text file; checking the size first spares grepping a real database.
if [ ! -f "$db" ] ||
    { [ "$(wc -c <"$db")" -lt 1024 ] && grep -q '^version https://git-lfs' "$db"; }; then
    echo "$mmdb is missing or a Git LFS pointer: writing an empty GeoLite2-City database," \
        "so the peer shows every node's location as unknown (the bench does not read them)" >&2
    venv=$(mktemp -d)
    trap 'rm -rf "$venv"' EXIT
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check mmdb-writer
    "$venv/bin/python" - "$db" <<'EOF'
import sys
from mmdb_writer import MMDBWriter
MMDBWriter(ip_version=6, database_type="GeoLite2-City").to_db_file(sys.argv[1])
EOF
fi

# An explicit target dir: CARGO_TARGET_DIR in the caller's environment would put the binaries
# elsewhere than the paths printed below.
release="$dir/backend/target/release"
(cd "$dir/backend" && cargo build --release --locked --target-dir "$dir/backend/target")

echo "$release/telemetry_core"
echo "$release/telemetry_shard"
echo "cargo bench --bench stream_load -- --substrate-telemetry $release"
