#!/usr/bin/env bash
# Acceptance test of the validator view against a real Lodestar 1.5.1 dev chain and a real Anvil.
#
# What it does, end to end, with every listener on 127.0.0.1:
#   1. installs Lodestar 1.5.1 and Anvil 1.7.1 from npm under WORK if they are missing (see
#      ../shared/real/lodestar.md for why these exact pins);
#   2. starts Anvil (--block-time 2), a Lodestar beacon node (`lodestar dev`, minimal preset, 8
#      genesis validators, REST on :9596), validator client A (indices 0..5, never stopped) and
#      validator client B (indices 6..7);
#   3. starts a webhook receiver (python3, appends each POST with its arrival time to a JSONL
#      file), `nodepulse serve` (alerts evaluated every 5 s, one json webhook, default rules) and
#      `nodepulse run` watching validators 0..7 and Anvil;
#   4. lets two full epochs pass, stops client B (SIGTERM) 0.7 s before the first slot of epoch X
#      (at +0.3 s it has already published that slot's block: it proposes within 0.1 s), restarts
#      it 0.3 s into X+2, and lets X+2, X+3 and X+4 be reported;
#   5. while it runs, asks Lodestar itself, in each epoch E+1, for the liveness of epoch E, its
#      headers and its proposer duties, to compare with what nodepulse stored; and polls serve
#      every 0.5 s for when each epoch's report was committed, to say where the alert's delay goes;
#   6. prints the per-epoch table, the webhooks and their delays, the agent's /metrics, the execution
#      report, the agent's memory and CPU, and every warning or error the two nodepulse logs hold;
#      exits 1 when the expected misses or the firing and resolved webhooks are not seen, or when
#      nodepulse and Lodestar disagree.
#
# It takes about 10 minutes (8 to 9 epochs of 48 s, plus start-up) and is NOT part of CI.
#
# Needs: bash, curl, python3, node and npm (Node 20; Lodestar's native addons compile with
# node-gyp on the first install), the ports 8008 8545 9000 9596 5064 5065 18080 18099 19101 free,
# and a release build of nodepulse (cargo build --release).
#
# Usage: scripts/acceptance-lodestar.sh [WORK]          (WORK defaults to /tmp/nodepulse-acceptance)
# Environment:
#   NODEPULSE     the binary (default: $CARGO_TARGET_DIR or target, /release/nodepulse)
#   ACCEPTANCE_LODESTAR_DIR  a directory whose node_modules/.bin/lodestar is Lodestar 1.5.1 (default
#                 WORK/lodestar, installed there when missing). Not LODESTAR_*: Lodestar reads every
#                 LODESTAR_* variable as a flag, so the script unsets them all.
#   ACCEPTANCE_ANVIL  the anvil binary (default
#                 WORK/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil, installed when missing)
#   INSTALL_ONLY=1  install what is missing and exit
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/nodepulse-acceptance}
NODEPULSE=${NODEPULSE:-${CARGO_TARGET_DIR:-$repo/target}/release/nodepulse}
# Lodestar's CLI takes LODESTAR_FOO from the environment as --foo ("Unknown argument: dir").
while read -r name; do unset "$name"; done < <(compgen -e | grep '^LODESTAR_' || true)
lodestar_dir=${ACCEPTANCE_LODESTAR_DIR:-$WORK/lodestar}
ANVIL=${ACCEPTANCE_ANVIL:-$WORK/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}

SECONDS_PER_SLOT=6
SLOTS_PER_EPOCH=8
EPOCH=$((SECONDS_PER_SLOT * SLOTS_PER_EPOCH))
BEACON=http://127.0.0.1:9596
SERVE=http://127.0.0.1:18080
HOOK_PORT=18099
MACHINE=lodestar-dev

say() { printf '%s %s\n' "$(date -u +%H:%M:%S.%3N)" "$*"; }
die() { say "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- install what is missing
mkdir -p "$WORK"
lodestar="$lodestar_dir/node_modules/.bin/lodestar"
if ! "$lodestar" --version 2>/dev/null | grep -q 'v1\.5\.1'; then
  say "installing Lodestar 1.5.1 into $lodestar_dir (npm, under 2 minutes)"
  mkdir -p "$lodestar_dir"
  # The pins: every @lodestar/* at 1.5.1 (else ^1.5.1 pulls 1.44.0 pieces), mortice 3.0.1 (newer
  # ones need Promise.withResolvers, missing in Node 20), and one multiaddr generation.
  cat > "$lodestar_dir/package.json" <<'JSON'
{
  "name": "lodestar-scratch",
  "private": true,
  "dependencies": { "@chainsafe/lodestar": "1.5.1" },
  "overrides": {
    "@lodestar/api": "1.5.1", "@lodestar/beacon-node": "1.5.1", "@lodestar/config": "1.5.1",
    "@lodestar/db": "1.5.1", "@lodestar/light-client": "1.5.1", "@lodestar/params": "1.5.1",
    "@lodestar/state-transition": "1.5.1", "@lodestar/types": "1.5.1", "@lodestar/utils": "1.5.1",
    "@lodestar/validator": "1.5.1", "@lodestar/fork-choice": "1.5.1", "@lodestar/reqresp": "1.5.1",
    "mortice": "3.0.1", "@libp2p/tcp": "6.1.2", "@multiformats/mafmt": "11.1.0",
    "@multiformats/multiaddr": "11.6.1"
  }
}
JSON
  (cd "$lodestar_dir" && npm install --no-audit --no-fund > npm-install.log 2>&1) \
    || die "npm install of Lodestar failed, see $lodestar_dir/npm-install.log"
  "$lodestar" --version 2>/dev/null | grep -q 'v1\.5\.1' || die "$lodestar is not Lodestar 1.5.1"
fi
if ! "$ANVIL" --version 2>/dev/null | grep -q '1\.7\.1'; then
  say "installing Anvil 1.7.1 into $WORK/anvil"
  ANVIL=$WORK/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
  mkdir -p "$WORK/anvil"
  (cd "$WORK/anvil" && npm install --no-audit --no-fund @foundry-rs/anvil-linux-amd64@1.7.1 \
    > npm-install.log 2>&1) || die "npm install of Anvil failed, see $WORK/anvil/npm-install.log"
fi
[[ ${INSTALL_ONLY:-0} == 1 ]] && { say "installed: $lodestar, $ANVIL"; exit 0; }
[[ -x $NODEPULSE ]] || die "no nodepulse binary at $NODEPULSE (cargo build --release, or set NODEPULSE)"
for port in 8008 8545 9000 9596 5064 5065 18080 $HOOK_PORT 19101; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port is in use"; fi
done

# ---------------------------------------------------------------- processes, and their end
run=$WORK/run
rm -rf "$run" && mkdir -p "$run/chain"
declare -A pids=()
started=()

# Starts a process in its own process group (setsid execs it: the pid is the process's own).
start() {
  local name=$1 log=$2; shift 2
  setsid "$@" >> "$log" 2>&1 < /dev/null &
  pids[$name]=$!
  started+=("$name")
  echo "${pids[$name]}" > "$run/$name.pid"
}
gone() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 0; [[ $s == Z* ]]; }
# SIGTERM to a process group; a second one after 10 s (Lodestar's beacon node may hang on the
# first), SIGKILL after 30 s.
stop() {
  local name=$1 pid=${pids[$1]:-} i
  [[ -n $pid ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for i in $(seq 300); do gone "$pid" && break; sleep 0.1
    if ((i == 100)); then kill -TERM -- "-$pid" 2>/dev/null || true; fi
  done
  gone "$pid" || { say "$name ($pid) ignored two SIGTERMs: SIGKILL"; kill -KILL -- "-$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
  unset "pids[$name]"
}
cleanup() {
  local i
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do stop "${started[i]}"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
sleep_until() {  # unix seconds, fractions allowed
  local d
  d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
  sleep "$d"
}

# ---------------------------------------------------------------- the webhook receiver
cat > "$run/webhook.py" <<'PY'
import json, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8", "replace")
        at = int(time.time() * 1000)
        with open(out, "a") as f:
            f.write(json.dumps({"arrived_ms": at, "path": self.path, "body": body}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
HTTPServer(("127.0.0.1", port), Hook).serve_forever()
PY
start webhook "$run/webhook.log" python3 "$run/webhook.py" "$HOOK_PORT" "$run/webhooks.jsonl"

# ---------------------------------------------------------------- Anvil and nodepulse serve
start anvil "$run/anvil.log" "$ANVIL" --port 8545 --block-time 2

db="sqlite://$run/serve.db"
key=$("$NODEPULSE" keys add acc --database "$db")
[[ $key =~ ^[A-Za-z0-9_-]{20,}$ ]] || die "keys add printed no key: $key"
cat > "$run/serve.toml" <<TOML
[alerts]
evaluate-every = "5s"

[[alerts.webhooks]]
url = "http://127.0.0.1:$HOOK_PORT/hook"
kind = "json"
TOML
start serve "$run/serve.log" "$NODEPULSE" serve --listen 127.0.0.1:18080 --database "$db" \
  --config "$run/serve.toml"

# ---------------------------------------------------------------- the chain
cd "$run/chain"   # `lodestar dev` writes genesis.ssz here
start bn "$run/bn.log" "$lodestar" dev --genesisValidators 8 --dataDir "$run/chain/DATA/bn" \
  --metrics --metrics.port 8008 --metrics.address 127.0.0.1 --rest.port 9596 \
  --rest.address 127.0.0.1 --listenAddress 127.0.0.1 --port 9000 --discv5 false --mdns false \
  --enr.ip 127.0.0.1
vc() {  # vc NAME INDICES METRICS_PORT
  start "vc$1" "$run/vc$1.log" "$lodestar" validator --network dev --dataDir "$run/chain/DATA/vc$1" \
    --beaconNodes "$BEACON" --interopIndexes "$2" --metrics --metrics.port "$3" \
    --metrics.address 127.0.0.1
}
genesis=
for _ in $(seq 120); do
  genesis=$(curl -sf "$BEACON/eth/v1/beacon/genesis" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["data"]["genesis_time"])' 2>/dev/null) && break
  sleep 1
done
[[ -n $genesis ]] || die "the beacon node's REST API did not come up (see $run/bn.log)"
vc A 0..5 5064
vc B 6..7 5065
curl -sf "$SERVE/healthz" > /dev/null || sleep 2
curl -sf "$SERVE/healthz" > /dev/null || die "nodepulse serve is not up (see $run/serve.log)"
say "genesis_time $genesis"

# ---------------------------------------------------------------- the agent
start agent "$run/agent.log" "$NODEPULSE" run --beacon-api "$BEACON" \
  --watch-validators 0,1,2,3,4,5,6,7 --execution-rpc http://127.0.0.1:8545 \
  --stats-base-url "$SERVE" --api-key "$key" --machine "$MACHINE" --interval 6s \
  --listen 127.0.0.1:19101 -v
agent=${pids[agent]}
agent_start=$(now)
# Two full epochs with both clients up, then B is stopped for epochs X and X+1.
e0=$(awk -v n="$agent_start" -v g="$genesis" -v e="$EPOCH" 'BEGIN { x = int((n - g) / e); print (x > 0 ? x : 0) }')
X=$((e0 + 3))
epoch_start() { echo $((genesis + $1 * EPOCH)); }
say "agent pid $agent started in epoch $e0; client B goes down for epochs $X and $((X + 1))"
start rss "$run/rss.log" bash -c "sleep 300; grep -E 'VmRSS|VmHWM' /proc/$agent/status > '$run/rss-5min.txt'"

# Lodestar's own view: during each epoch C, at slot 5, the liveness of C-1, its slots' headers,
# and C's proposer duties (the node answers duties only for the current and next epoch).
cat > "$run/lodestar_view.py" <<'PY'
import json, sys, time, urllib.error, urllib.request
base, genesis, first, last, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
SLOT, PER = 6, 8
def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None
    except Exception as e:
        return 0, str(e)
for c in range(first, last + 1):
    due = genesis + (c * PER + 5) * SLOT + 1
    if time.time() > due + 10:
        continue
    time.sleep(max(0, due - time.time()))
    row = {"wake_epoch": c, "at_ms": int(time.time() * 1000)}
    status, duties = get(f"/eth/v1/validator/duties/proposer/{c}")
    row["duties"] = {d["slot"]: int(d["validator_index"]) for d in duties["data"]} if status == 200 else status
    q = "&".join(f"indices={i}" for i in range(8))
    status, live = get(f"/eth/v1/validator/liveness?epoch={c - 1}&{q}")
    row["liveness"] = {str(d["index"]): d["is_live"] for d in live["data"]} if status == 200 else status
    row["headers"] = {}
    for s in range((c - 1) * PER, c * PER):
        status, h = get(f"/eth/v1/beacon/headers/{s}")
        proposer = int(h["data"]["header"]["message"]["proposer_index"]) if status == 200 else None
        row["headers"][str(s)] = {"status": status, "proposer_index": proposer}
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")
PY
start view "$run/view.log" python3 "$run/lodestar_view.py" "$BEACON" "$genesis" $((e0 + 1)) $((X + 5)) \
  "$run/lodestar-view.jsonl"

# When serve committed each epoch's report (its last_epoch changes), every 0.5 s.
cat > "$run/commits.py" <<'PY'
import json, sys, time, urllib.request
url, key, out, last = sys.argv[1], sys.argv[2], sys.argv[3], None
while True:
    try:
        req = urllib.request.Request(url, headers={"apikey": key})
        with urllib.request.urlopen(req, timeout=5) as r:
            epoch = (json.load(r)["data"][0].get("validators") or {}).get("last_epoch")
        if epoch != last:
            with open(out, "a") as f:
                f.write(json.dumps({"seen_ms": int(time.time() * 1000), "last_epoch": epoch}) + "\n")
            last = epoch
    except Exception:
        pass
    time.sleep(0.5)
PY
start commits "$run/commits.log" python3 "$run/commits.py" \
  "$SERVE/api/v1/machines/$MACHINE/validators?epochs=1" "$key" "$run/commits.jsonl"

# ---------------------------------------------------------------- client B down for X and X+1
sleep_until "$(($(epoch_start "$X") - 1)).3"
say "SIGTERM to client B (pid ${pids[vcB]}) 0.7 s before epoch $X"
stop vcB
say "client B exited"
echo "{\"stopped_ms\": $(date +%s%3N)}" > "$run/b-stopped.json"
sleep_until "$(epoch_start $((X + 2))).3"
vc B 6..7 5065
say "client B restarted (pid ${pids[vcB]}) at the start of epoch $((X + 2))"
echo "{\"restarted_ms\": $(date +%s%3N)}" > "$run/b-restarted.json"

# X+4 is reported from the middle of X+5; the resolved webhook comes after X+2's or X+3's report.
sleep_until "$(epoch_start $((X + 5))).0"
sleep_until $(($(epoch_start $((X + 5))) + 38))
for _ in $(seq 12); do grep -q '\\"resolved\\"' "$run/webhooks.jsonl" 2>/dev/null && break; sleep 5; done

# ---------------------------------------------------------------- what is there to check
end=$(now)
read -r utime stime < <(awk '{ print $14, $15 }' "/proc/$agent/stat")
grep -E 'VmRSS|VmHWM' "/proc/$agent/status" > "$run/rss-end.txt"
curl -sf -H "apikey: $key" "$SERVE/api/v1/machines/$MACHINE/validators?epochs=20" > "$run/validators.json" \
  || die "GET /api/v1/machines/$MACHINE/validators failed"
curl -sf http://127.0.0.1:19101/metrics > "$run/agent-metrics.txt" || die "the agent's /metrics did not answer"
curl -sf "$SERVE/metrics" > "$run/serve-metrics.txt" || true
cat > "$run/facts.json" <<JSON
{"genesis": $genesis, "x": $X, "e0": $e0, "agent_start": $agent_start, "end": $end,
 "utime_ticks": $utime, "stime_ticks": $stime, "clk_tck": $(getconf CLK_TCK)}
JSON
agent_started=$(grep -m1 ' started interval=' "$run/agent.log" | cut -d' ' -f1)
echo "{\"agent_started\": \"$agent_started\"}" > "$run/agent-started.json"
stop agent
stop serve

cat > "$run/check.py" <<'PY'
import json, re, sys
run = sys.argv[1]
facts = json.load(open(f"{run}/facts.json"))
G, X, E0 = facts["genesis"], facts["x"], facts["e0"]
EPOCH = 48
answer = json.load(open(f"{run}/validators.json"))["data"][0]
hist = answer["validators"]
view = {}
for line in open(f"{run}/lodestar-view.jsonl"):
    row = json.loads(line)
    view[row["wake_epoch"]] = row
hooks = [json.loads(l) for l in open(f"{run}/webhooks.jsonl")] if __import__("os").path.exists(f"{run}/webhooks.jsonl") else []
failures = []
def fail(msg):
    failures.append(msg)

def ms(t): return int(t * 1000)
def fmt(t_ms): return __import__("time").strftime("%H:%M:%S", __import__("time").gmtime(t_ms / 1000)) + f".{t_ms % 1000:03d}"

print(f"genesis_time {G}; agent started in epoch {E0}; client B down for epochs {X} and {X+1}")
b_stop = json.load(open(f"{run}/b-stopped.json"))["stopped_ms"]
b_up = json.load(open(f"{run}/b-restarted.json"))["restarted_ms"]
print(f"client B exited {(b_stop - (G + X * EPOCH) * 1000) / 1000:.1f} s into epoch {X}; restarted "
      f"{(b_up - (G + (X + 2) * EPOCH) * 1000) / 1000:.1f} s into epoch {X + 2}")
print(f"nodepulse: attestations from {hist.get('attestations_from')}, last epoch {hist['last_epoch']}, "
      f"clock {hist['clock']}")

# ---- per-epoch table
missed_att, missed_prop, props = {}, {}, {}
for ep in hist["epochs"]:
    e = ep["epoch"]
    missed_att[e] = sorted(v["index"] for v in ep["validators"] if v.get("attested") is False)
    unknown = sorted(v["index"] for v in ep["validators"] if "attested" not in v)
    if unknown:
        fail(f"epoch {e}: no attestation verdict for {unknown}")
    props[e] = sorted((p["slot"], v["index"], p["block_root"]) for v in ep["validators"] for p in v.get("proposals", []))
    missed_prop[e] = sorted((s, i) for s, i, root in props[e] if root is None)
print()
print("| epoch | nodepulse attested=false | Lodestar liveness not live | nodepulse proposals (slot:validator, x = missed) | Lodestar empty slots (404) and who was due | agree |")
print("|---|---|---|---|---|---|")
not_reported = sorted(c - 1 for c, r in view.items() if c - 1 not in missed_att and isinstance(r["liveness"], dict))
for e in sorted(set(missed_att) | set(not_reported)):
    row = view.get(e + 1)
    if e not in missed_att:
        live = sorted(int(i) for i, ok in row["liveness"].items() if not ok)
        print(f"| {e} | NOT REPORTED | {live} | - | - | nodepulse has no report |")
        continue
    if row and isinstance(row["liveness"], dict):
        not_live = sorted(int(i) for i, live in row["liveness"].items() if not live)
    else:
        not_live = None
    duties = view.get(e, {}).get("duties") if isinstance(view.get(e, {}).get("duties"), dict) else {}
    empty = None
    if row:
        empty = sorted((int(s), duties.get(s)) for s, h in row["headers"].items() if h["status"] == 404)
        for s, h in row["headers"].items():
            if h["status"] not in (200, 404):
                fail(f"Lodestar answered {h['status']} for the header of slot {s}")
    agree = []
    if not_live is not None and not_live != missed_att[e]:
        agree.append("attestations differ")
        fail(f"epoch {e}: nodepulse says {missed_att[e]} did not attest, Lodestar's liveness {not_live}")
    if empty is not None:
        if props[e]:
            if sorted(s for s, _ in empty if s != 0) != sorted(s for s, _ in missed_prop[e]):
                agree.append("proposals differ")
                fail(f"epoch {e}: nodepulse's missed proposals {missed_prop[e]}, Lodestar's empty slots {empty}")
            for s, i, root in props[e]:
                h = row["headers"].get(str(s))
                if root is not None and (h is None or h["proposer_index"] != i):
                    fail(f"epoch {e}: nodepulse says {i} proposed slot {s}, Lodestar's header says {h}")
        elif any(s != 0 for s, _ in empty):
            agree.append("no proposals known")
    if not_live is None:
        agree.append("no liveness recorded")
    ptxt = " ".join(f"{s}:{i}{'x' if root is None else ''}" for s, i, root in props[e]) or "(none known)"
    etxt = ", ".join(f"{s} (due {d})" for s, d in empty) if empty else ("none" if empty is not None else "-")
    print(f"| {e} | {missed_att[e] or '-'} | {not_live if not_live is not None else '?'} | {ptxt} | {etxt} | "
          f"{'; '.join(agree) or 'yes'} |")

# ---- the expected misses
print()
for e in (X, X + 1, X + 2, X + 3, X + 4):
    if e not in missed_att:
        fail(f"epoch {e} was not reported")
for e, missed in missed_att.items():
    if e in (X, X + 1):
        if missed != [6, 7]:
            fail(f"epoch {e}: expected validators 6 and 7 to miss, nodepulse says {missed}")
    elif e == X + 2:
        if not set(missed) <= {6, 7}:
            fail(f"epoch {e}: unexpected misses {missed}")
        print(f"epoch {e} (B restarted at its start): missed by {missed or 'nobody'}")
    elif missed:
        fail(f"epoch {e}: unexpected misses {missed}")
    for s, i, root in props[e]:
        b_down = e in (X, X + 1) and i in (6, 7)
        if b_down and root is not None:
            fail(f"slot {s}: validator {i} proposed while client B was down")
        if not b_down and root is None:
            if e == X + 2 and i in (6, 7):
                print(f"slot {s}: validator {i} missed its proposal while client B was starting")
            else:
                fail(f"slot {s}: validator {i}'s proposal missed unexpectedly")
for e in not_reported:
    print(f"note: Lodestar answered liveness for epoch {e}, but nodepulse never reported it")
b_props = [(s, i) for e in (X, X + 1) for s, i, _ in props.get(e, []) if i in (6, 7)]
print(f"client B's proposals due in epochs {X} and {X + 1}: {b_props or 'none'} (all missed: "
      f"{all(root is None for e in (X, X + 1) for s, i, root in props.get(e, []) if i in (6, 7))})")

# ---- when each report was committed at serve, and the agent's ticks
commits = {}
for line in open(f"{run}/commits.jsonl"):
    c = json.loads(line)
    if c["last_epoch"] is not None:
        commits.setdefault(c["last_epoch"], c["seen_ms"])
import datetime
started = json.load(open(f"{run}/agent-started.json"))["agent_started"]
started_ms = int(datetime.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() * 1000)
def explain(e, arrived_ms):
    end = (G + (e + 1) * EPOCH) * 1000
    due = end + EPOCH * 1000 // 2          # liveness of E is asked from the middle of E+1
    tick = started_ms + -(-(due - started_ms) // 6000) * 6000   # the agent's first 6 s tick after that
    committed = commits.get(e)
    print(f"  where the time goes for epoch {e} (ends {fmt(end)}): liveness due +{(due - end) / 1000:.1f} s; "
          f"agent's next tick +{(tick - end) / 1000:.1f} s (ticks every 6 s from {fmt(started_ms)}); "
          f"report committed at serve by +{(committed - end) / 1000:.1f} s (0.5 s poll); " if committed else
          f"report commit not seen; ", end="")
    print(f"webhook arrived +{(arrived_ms - end) / 1000:.1f} s (serve evaluates every 5 s)")

# ---- webhooks
print()
print("webhooks (arrival, body):")
parsed = []
for h in hooks:
    body = json.loads(h["body"])
    parsed.append((h["arrived_ms"], body))
    print(f"  {fmt(h['arrived_ms'])} ({h['arrived_ms']}) {h['body']}")
firing = [(t, b) for t, b in parsed if b.get("rule") == "attestations-missed" and b.get("status") == "firing"]
resolved = [(t, b) for t, b in parsed if b.get("rule") == "attestations-missed" and b.get("status") == "resolved"]
if len(firing) != 1:
    fail(f"{len(firing)} firing webhooks for attestations-missed, expected 1")
if len(resolved) != 1:
    fail(f"{len(resolved)} resolved webhooks for attestations-missed, expected 1")
if firing:
    t, b = firing[0]
    named = re.search(r":\s*([\d, ]+)$", b.get("detail", ""))
    named = sorted(int(n) for n in named.group(1).split(",")) if named else None
    if named != [6, 7]:
        fail(f"the firing webhook names {named}, expected [6, 7]: {b.get('detail')!r}")
    end_x1 = (G + (X + 2) * EPOCH) * 1000
    print(f"firing: {(t - end_x1) / 1000:.1f} s after the end of epoch {X + 1} ({fmt(end_x1)}); "
          f"'at' {b.get('at')} is {(t - b.get('at', t))} ms before arrival")
    explain(X + 1, t)
if resolved:
    t, b = resolved[0]
    if firing and t <= firing[0][0]:
        fail("the resolved webhook came before the firing one")
    clean = [e for e in sorted(missed_att) if e > X + 1 and not missed_att[e]]
    if clean:
        f = clean[0]
        end_f = (G + (f + 1) * EPOCH) * 1000
        print(f"resolved: {(t - end_f) / 1000:.1f} s after the end of epoch {f}, the first fully attested "
              f"one after B's restart ({fmt(end_f)})")
        explain(f, t)

# ---- execution report
print()
ex = answer.get("execution")
print(f"execution report: {json.dumps(ex)}")
if not ex or not str(ex["report"].get("client_version", "")).startswith("anvil/v1.7.1"):
    fail("no execution report from anvil/v1.7.1")
elif "peers" in ex["report"]:
    fail("the execution report carries peers, but Anvil refuses net_peerCount")

# ---- the agent's metrics, memory and CPU
print()
print("agent /metrics:")
for line in open(f"{run}/agent-metrics.txt"):
    if re.match(r"nodepulse_(validators|validator_attestations_total|validator_proposals_total|execution|validator_reported_epoch|beacon_api_failures_total)\b", line):
        print("  " + line.rstrip())
print()
tck = facts["clk_tck"]
cpu = (facts["utime_ticks"] + facts["stime_ticks"]) / tck
wall = facts["end"] - facts["agent_start"]
print(f"agent: {wall:.0f} s = {wall / EPOCH:.2f} epochs; CPU {cpu:.2f} s (utime {facts['utime_ticks'] / tck:.2f}, "
      f"stime {facts['stime_ticks'] / tck:.2f}) = {cpu / (wall / EPOCH):.3f} s per epoch, "
      f"{cpu / wall * 100:.2f} % of one core")
for name in ("rss-5min.txt", "rss-end.txt"):
    try:
        print(f"  {name}: " + " ".join(open(f"{run}/{name}").read().split()))
    except OSError:
        print(f"  {name}: missing")

print()
if failures:
    print("FAILED:")
    for f in failures:
        print("  - " + f)
    sys.exit(1)
print("PASSED")
PY
status=0
python3 "$run/check.py" "$run" || status=$?
echo
for log in agent serve; do
  echo "warnings and errors in $log.log:"
  grep -aiE 'warn|error' "$run/$log.log" | sed 's/^/  /' || echo "  none"
done
exit "$status"
