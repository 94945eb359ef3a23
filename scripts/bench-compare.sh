#!/usr/bin/env bash
# nodepulse against peers on the same 8 MB scrape, whole processes side by side: wall time (best of
# 5), throughput and peak RSS, with ratios to nodepulse. Peers: promtool (Debian's `prometheus`)
# and Python's prometheus_client parser, installed when missing. Then the in-process figures.
# Not part of CI: it installs large packages and takes a minute or two.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus_client

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo bench --bench parse_map -q -- --write "$work/scrape.prom" >/dev/null
cargo build --release --locked -q
binary="$(pwd)/${CARGO_TARGET_DIR:-target}/release/nodepulse"

python3 - "$work/scrape.prom" "$binary" <<'PY'
import os, subprocess, sys, time
scrape, binary = sys.argv[1], sys.argv[2]
size = os.path.getsize(scrape) / 1e6
parse_py = ("import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n"
            "print(sum(len(f.samples) for f in text_string_to_metric_families(open(sys.argv[1]).read())))")
runs = [
    ("nodepulse run --dry-run", [binary, "run", "--dry-run", "--beacon-node", scrape], None),
    ("promtool check metrics", ["promtool", "check", "metrics"], scrape),
    ("python prometheus_client", [sys.executable, "-c", parse_py, scrape], None),
]
def measure(command, stdin_path):
    best, peak = float("inf"), 0
    for _ in range(5):
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        started = time.perf_counter()
        subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    # Peak RSS from GNU time: a child forked from Python starts out with Python's high-water mark,
    # which os.wait4 would report instead of the command's own.
    for _ in range(3):
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        timed = subprocess.run(["/usr/bin/time", "-f", "%M", *command], stdin=stdin,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak = max(peak, int(timed.stderr.strip().splitlines()[-1]))
    return best, peak / 1024
results = [(name, *measure(command, stdin)) for name, command, stdin in runs]
ours = results[0][1]
print(f"input: {size:.1f} MB text exposition, best of 5 runs each")
print(f"{'tool':<28}{'seconds':>9}{'MB/s':>9}{'peak RSS MB':>13}{'time vs nodepulse':>19}")
for name, seconds, rss in results:
    print(f"{name:<28}{seconds:>9.3f}{size / seconds:>9.0f}{rss:>13.1f}{seconds / ours:>18.1f}x")
PY
echo
cargo bench --bench parse_map -q 2>/dev/null | grep -v '^$'
