#!/usr/bin/env bash
# The project's test command: installs what the tests need (the Pushgateway, systemd-analyze,
# PostgreSQL, promtool, nginx, Chromium, Python's prometheus_client, rustfmt and clippy), then
# formatting, lints, every test (unit, fixture, loopback integration tests, the real Pushgateway,
# PostgreSQL and browser, the systemd unit), the .deb, built and checked with dpkg-deb, and the
# release link's function order.
set -euo pipefail
cd "$(dirname "$0")/.."

# Where the time goes, phase by phase (seconds since the script started).
phase() { echo "== ${SECONDS}s: $*"; }
cleanup() {
  if [ -n "${release_pid:-}" ]; then kill -- "-$release_pid" 2>/dev/null || true; fi
  if [ -n "${pg_dir:-}" ]; then
    bash scripts/postgres.sh stop "$pg_dir" 2>/dev/null || true
    rm -rf "$pg_dir"
  fi
  rm -f "${log:-}" "${release_log:-}"
}
trap cleanup EXIT

# The release build (which the .deb and the symbol-order check read) is the longest chain:
# its dependencies keep both cores busy, then fat LTO optimises and links our crate on one. It
# starts first and runs beside the installs, lints and tests, all of those at a lower priority so
# that it has the CPU it wants (no test depends on timing: the suite passes beside
# `stress-ng --cpu 2` too), in a target directory of its own so that neither cargo waits on the
# other's lock, and in a process group of its own so that a failed run stops it whole. Not in a
# session of its own: Linux shares the CPU evenly between sessions (autogroups) and applies nice
# only within one, so a release build in its own session got one core of two while the niced
# lints wanted both.
release_dir="${CARGO_TARGET_DIR:-target}/package"
release_log=$(mktemp)
phase "the release build, in the background"
set -m
(
  CARGO_TARGET_DIR="$release_dir" cargo build --release --locked
  status=$?
  echo "== ${SECONDS}s: the release build ended"
  exit $status
) >"$release_log" 2>&1 &
release_pid=$!
set +m

# A fresh machine may lack the two rustup components the checks need.
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

# The Pushgateway tests run against the real thing, the unit files are checked by
# systemd-analyze, `serve` runs against a real PostgreSQL (and psql makes its test databases), and
# promtool checks both /metrics answers: all from Debian's packages.
packages=()
command -v prometheus-pushgateway >/dev/null 2>&1 || packages+=(prometheus-pushgateway)
command -v systemd-analyze >/dev/null 2>&1 || packages+=(systemd)
command -v psql >/dev/null 2>&1 || packages+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
# serve is tested behind Debian's nginx, as operators run it for TLS.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)
# The status page is tested in a real headless browser.
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
# jemalloc's build runs its configure script and make (SQLite's needs only the C compiler).
command -v make >/dev/null 2>&1 || packages+=(make)
command -v cc >/dev/null 2>&1 || packages+=(gcc)
# The symbol-order check reads the binary with nm; the package strips it and checks it with readelf.
command -v nm >/dev/null 2>&1 || packages+=(binutils)
# The differential test compares our parser with the reference one, Python's prometheus_client:
# Debian's package for Debian's python3 (whose pip refuses to install system-wide).
command -v python3 >/dev/null 2>&1 || packages+=(python3)
python3 -c 'import prometheus_client' 2>/dev/null || packages+=(python3-prometheus-client)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}"
fi

# A python3 that is not Debian's (pyenv, a venv) does not see that package: pip, then.
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus_client

# The tests read two paths from the environment; a value left over in a shell must not point them
# elsewhere by accident. Set NODEPULSE_TEST_KEEP_ENV=1 to keep them deliberately.
if [ "${NODEPULSE_TEST_KEEP_ENV:-0}" != "1" ]; then
  unset NODEPULSE_PEER_CASES NODEPULSE_PUSHGATEWAY_BIN
fi

# A throwaway PostgreSQL cluster on a free loopback port, gone when the script ends. Each test
# makes its own database in it; a test that stops its server starts a cluster of its own.
pg_dir=$(mktemp -d /tmp/nodepulse-pg.XXXXXX)
chmod 755 "$pg_dir"
export NODEPULSE_TEST_POSTGRES
NODEPULSE_TEST_POSTGRES=$(nice bash scripts/postgres.sh start "$pg_dir")

# A run from scratch gains nothing from incremental caches, and writing them costs time.
export CARGO_INCREMENTAL=0

phase "format, and the lints with the tests' build"
cargo fmt --all -- --check
# Clippy lints our crate while the tests' build compiles it: clippy-driver, cargo's wrapper for
# the workspace's own crates (what `cargo clippy` runs on them too), with `cargo clippy`'s own
# `-D warnings`. Every target `cargo clippy --all-targets` checks is built here (the benches
# too), and the dependencies once, where `cargo clippy` beside `cargo test` would compile them
# twice (check mode, then code): from a clean clone 122 s instead of 108 + 79 one after the other.
# The tests' run below keeps the same wrapper, so it finds everything built; the release build
# must not have it (its fingerprint would change, and clippy-driver builds without MIR
# optimisations).
linted=(env RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")
nice "${linted[@]}" cargo test --locked --lib --bins --tests --benches --no-run
# Unit tests, and the integration tests as one binary (there are no doc tests). Those mostly wait
# on processes, sockets and databases, not on the CPU: six at a time on two cores (the suite passes
# so under `stress-ng --cpu 2` too). The closing line totals every binary's results.
phase "tests"
log=$(mktemp)
nice "${linted[@]}" cargo test --locked --lib --bins --tests -- --test-threads 6 2>&1 | tee "$log"
# An ignored or filtered-out test would pass unseen: either one fails the run.
if ! totals=$(awk '/^test result:/ { passed += $4; failed += $6; ignored += $8; filtered += $12 }
     END {
       printf "tests: %d passed, %d failed\n", passed, failed
       if (ignored + filtered > 0) printf "%d ignored and %d filtered out: every test must run\n", ignored, filtered
       exit (passed == 0 || failed > 0 || ignored + filtered > 0)
     }' "$log"); then
  echo "$totals"
  exit 1
fi

phase "the .deb (waiting for the release build)"
if ! wait "$release_pid"; then
  cat "$release_log"
  echo "the release build failed" >&2
  exit 1
fi
release_pid=""
tail -n 1 "$release_log"
export CARGO_TARGET_DIR="$release_dir"
bash scripts/package-deb.sh
# The release link's function order (what keeps an idle agent small) must name this build's code.
phase "the symbol order"
bash scripts/agent-symbol-order.sh --check
phase "done"

# The closing line counts every test.
echo "$totals"
