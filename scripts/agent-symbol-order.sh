#!/usr/bin/env bash
# Records which functions `nodepulse run` executes and writes them to link/agent-symbols.txt,
# which the release link (build.rs) hands to the linker so that the agent's code sits together at
# the start of .text.
#
# Why: the binary also carries `serve` (sqlx, axum, the store), and with the default layout the
# agent's functions are spread across twice as many pages; the kernel maps every page of a 64 KiB
# window around each code page an idle agent touches, so its resident set grew by ~2 MB. Ordering
# puts what the agent runs into few windows.
#
# Run it after changing the agent or any dependency (a dependency's version is part of every
# symbol's name). A stale list costs memory, never correctness: names no longer in the binary are
# skipped. `--check` (run by scripts/test.sh) only tells whether the list still names the release
# build's functions, and fails when most are gone. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
list=link/agent-symbols.txt

if [ "${1:-}" = "--check" ]; then
  cargo build --release --locked --bin nodepulse
  binary="${CARGO_TARGET_DIR:-target}/release/nodepulse"
  # Rust's own functions (mangled _ZN.../_R...); the C library's are not in the binary anyway.
  listed=$(grep -cE '^_(ZN|R)' "$list")
  present=$(comm -12 <(grep -E '^_(ZN|R)' "$list" | sort -u) <(nm --defined-only "$binary" | awk '{print $3}' | sort -u) | wc -l)
  echo "agent-symbol-order: $present of $listed listed functions are in the release binary"
  if [ $((present * 100)) -lt $((listed * 90)) ]; then
    echo "agent-symbol-order: $list is stale; run scripts/agent-symbol-order.sh and commit it" >&2
    exit 1
  fi
  exit 0
fi

command -v valgrind >/dev/null || { echo "agent-symbol-order: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

# The release build itself: it keeps its symbol table (Cargo.toml), so valgrind names functions
# exactly as the linker knows them. Any other profile would hash the names differently.
cargo build --release --bin nodepulse
binary="${CARGO_TARGET_DIR:-target}/release/nodepulse"

work=$(mktemp -d)
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A real receiver for the runs that send.
key=$("$binary" keys add profile --database "sqlite://$work/serve.db")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$binary" serve --listen "127.0.0.1:$port" --database "sqlite://$work/serve.db" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done

profile() {
  local name=$1
  shift
  valgrind --tool=callgrind --demangle=no --compress-strings=no --dump-instr=no \
    --callgrind-out-file="$work/$name.out" "$binary" "$@" >/dev/null 2>>"$work/valgrind.log" || true
}

# Every bundled consensus fixture, mapped and sent once.
for dir in fixtures/{grandine,lighthouse,lodestar,nimbus,prysm,teku}; do
  client=$(basename "$dir")
  args=(--beacon-node "$dir/beacon.prom")
  [ -f "$dir/validator.prom" ] && args+=(--validator "$dir/validator.prom")
  profile "once-$client" run --once "${args[@]}" \
    --stats-base-url "http://127.0.0.1:$port" --api-key "$key" --machine "$client"
  profile "dry-$client" run --dry-run "${args[@]}"
done

# The long-running shape (an unreachable receiver, so the retry path too, and --listen), stopped
# by SIGTERM after a few cycles so callgrind writes its profile.
listen_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --demangle=no --compress-strings=no --dump-instr=no \
  --callgrind-out-file="$work/loop.out" "$binary" run \
  --beacon-node fixtures/lighthouse/beacon.prom --validator fixtures/lighthouse/validator.prom \
  --stats-endpoint http://127.0.0.1:9/api/v1/stats/key/loop --interval 2s \
  --listen "127.0.0.1:$listen_port" >/dev/null 2>>"$work/valgrind.log" &
loop_pid=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$listen_port/metrics" >/dev/null && break
  sleep 0.2
done
sleep 8
kill -TERM "$loop_pid"
wait "$loop_pid" || true

# Functions that ran, once each, sorted: they only need to sit together, and a sorted list keeps
# the next recording's diff to what changed.
mkdir -p link
cat "$work"/*.out | sed -n 's/^c\?fn=//p' | LC_ALL=C sort -u >"$list"
echo "agent-symbol-order: $(wc -l <"$list") functions in $list" >&2
