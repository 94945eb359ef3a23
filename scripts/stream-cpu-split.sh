#!/usr/bin/env bash
# Where `serve`'s CPU goes at 10,000 frames/s, beside substrate-telemetry's, in one run:
# `cargo bench --bench stream_load -- --only SQLite --floor --steps 1 --seconds 40
# --substrate-telemetry DIR`, with `perf record -g` (2 kHz, 10 s) attached in the middle of each
# server's load: `serve` storing in SQLite, its floor, the peer's shard and core. Each sample is
# put in one place by the kernel's frames of its stack (the receive of a frame, sleeping and
# waking, sending, the rest of the kernel; SQLite's writer thread by its name; a sample with no
# kernel frame is user space), and the shares
# are given in CPU-ms per 1,000 frames of the bench's own figures for the run (perf running for a
# quarter of it). README's performance section has a table of it.
# Usage: scripts/stream-cpu-split.sh DIR (substrate-telemetry's backend/target/release, as
# scripts/substrate-telemetry-backend.sh builds it). Not part of CI: it takes two and a half
# minutes and installs perf when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${1:?usage: scripts/stream-cpu-split.sh SUBSTRATE_TELEMETRY_RELEASE_DIR}
if ! command -v perf >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
fi
cargo build --release --locked -q
bench=$(cargo bench --bench stream_load --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m.get("target", {}).get("name") == "stream_load":
        print(m["executable"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bench" --only SQLite --floor --steps 1 --seconds 40 --substrate-telemetry "$peer" \
    >"$work/bench.log" 2>&1 &
loader=$!
# Each server once, 15 s into its load; the shard and the core together.
recorded=" "
record() { # PID NAME
    perf record -F 1999 -g -p "$1" -o "$work/$2.perf" -- sleep 10 >/dev/null 2>&1 || true
}
while kill -0 "$loader" 2>/dev/null; do
    serve=$(pgrep -P "$loader" -f "nodepulse serve" | head -1 || true)
    if [ -n "$serve" ] && [[ "$recorded" != *" $serve "* ]]; then
        recorded+="$serve "
        name=serve
        grep -q -- --bench-discard-streams "/proc/$serve/cmdline" 2>/dev/null && name=floor
        sleep 15
        record "$serve" "$name"
    fi
    shard=$(pgrep -P "$loader" -f telemetry_shard | head -1 || true)
    if [ -n "$shard" ] && [[ "$recorded" != *" $shard "* ]]; then
        recorded+="$shard "
        core=$(pgrep -P "$loader" -f telemetry_core | head -1 || true)
        sleep 15
        record "$shard" shard &
        shard_record=$!
        [ -n "$core" ] && record "$core" core
        wait "$shard_record"
    fi
    sleep 1
done
wait "$loader" || { cat "$work/bench.log"; exit 1; }
grep -v '^SQLite:' "$work/bench.log" | grep -v ' WARN '

python3 - "$work" <<'PY'
import collections, os, re, subprocess, sys
work = sys.argv[1]
log = open(os.path.join(work, "bench.log")).read()

def figure(pattern):
    found = re.search(pattern, log)
    return float(found.group(1)) if found else None

totals = {
    "serve": figure(r"(?m)^SQLite, .*?; serve ([\d.]+) CPU-ms"),
    "floor": figure(r"(?m)^floor \(read and decode.*?; serve ([\d.]+) CPU-ms"),
    "shard": figure(r"\(shard ([\d.]+), core"),
    "core": figure(r"shard [\d.]+, core ([\d.]+)\)"),
}
places = [
    ("the kernel's receive of each frame", ("recvfrom", "tcp_recvmsg", "sock_recvmsg", "sock_read_iter")),
    ("sleeping and waking", ("epoll_wait", "futex", "schedule", "finish_task_switch", "nanosleep",
                             "exit_to_user_mode")),
    ("the kernel's sending", ("sendto", "sendmsg", "tcp_sendmsg", "sock_write_iter")),
]

def place(first_line, frames):
    # Only the kernel's frames place a sample in the kernel: a user-space symbol may carry the
    # same words (tokio's scheduler, std's futex-based mutex).
    stack = " ".join(frame for frame in frames if "[kernel." in frame)
    if "sqlx-sqlite" in first_line:
        return "SQLite's writer thread"
    for name, marks in places:
        if any(mark in stack for mark in marks):
            return name
    if stack:
        return "the kernel, the rest"
    return "user space"

rows = [name for name, _ in places] + ["SQLite's writer thread", "the kernel, the rest", "user space"]
shares = {}
for server in totals:
    path = os.path.join(work, f"{server}.perf")
    if not os.path.exists(path):
        continue
    script = subprocess.run(["perf", "script", "-i", path, "-F", "comm,ip,sym,dso"],
                            capture_output=True, text=True).stdout
    counts = collections.Counter()
    for sample in script.split("\n\n"):
        lines = [line for line in sample.strip().split("\n") if line.strip()]
        if lines:
            counts[place(lines[0], lines[1:])] += 1
    shares[server] = {row: counts[row] / max(1, sum(counts.values())) for row in rows}

servers = [server for server in totals if server in shares and totals[server] is not None]
print("\nCPU-ms per 1,000 frames | " + " | ".join(servers))
for row in rows:
    cells = [f"{shares[server][row] * totals[server]:.1f}" for server in servers]
    print(f"{row} | " + " | ".join(cells))
print("whole | " + " | ".join(f"{totals[server]:.1f}" for server in servers))
PY
