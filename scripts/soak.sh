#!/usr/bin/env bash
# Soak: `nodepulse run` every second for MINUTES (default 30) against the Lighthouse fixtures, a
# client-stats receiver that fails every other request (503) and a Pushgateway stand-in, then
# reports resident memory after warm-up and at the end, and how many payloads were accepted.
# Not part of CI. Needs python3 for the stand-in receivers.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-30}"
cargo build --release --locked -q
binary="${CARGO_TARGET_DIR:-target}/release/nodepulse"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$port" "$work/counts" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, counts = int(sys.argv[1]), sys.argv[2]
seen = {"requests": 0, "accepted": 0}
class Receiver(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen["requests"] += 1
        ok = seen["requests"] % 2 == 0
        seen["accepted"] += ok
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with open(counts, "w") as out:
            out.write(f'{seen["requests"]} {seen["accepted"]}\n')
    do_POST = do_PUT = answer
ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
PY
sleep 1

"$binary" run -q --interval 1s --stats-minute-limit false \
  --stats-endpoint "http://127.0.0.1:$port/api/v1/stats/key/soak" \
  --pushgateway "http://127.0.0.1:$port" --push-instance soak \
  --beacon-node fixtures/lighthouse/beacon.prom --validator fixtures/lighthouse/validator.prom &
agent=$!
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status"; }
sleep 10
start_rss=$(rss)
sleep $((minutes * 60 - 10))
end_rss=$(rss)
kill -TERM "$agent"
wait "$agent" || true
read -r requests accepted < "$work/counts"
printf '%-28s %s\n' "duration" "${minutes} min at a 1 s interval" \
  "RSS after 10 s" "${start_rss} kB" "RSS at the end" "${end_rss} kB" \
  "growth" "$((end_rss - start_rss)) kB" \
  "requests (stats + push)" "$requests" "accepted (the other half 503)" "$accepted"
