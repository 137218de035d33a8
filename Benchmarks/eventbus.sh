#!/usr/bin/env bash
# Event bus end to end: PutEvents in 10-entry batches through the gateway, delivered by a rule
# to a warm python3 function, nothing lost.
#
#   Benchmarks/eventbus.sh [--check]
#
# 1. builds release `kumo` (and kumo-init) into .build-release,
# 2. a project with one function (`sink`, minInstances $WARM, concurrency $CONCURRENCY) and one
#    rule sending every `bench.orders` event to it; a runtime on a free port, applied,
# 3. $EVENTS events put by $THREADS keep-alive clients (Benchmarks/eventbus/load.py, raw HTTP
#    with boto3's JSON 1.1 body), then waits until the rule's deliveries are all finished
#    (`kumo status --json`: delivered + dead-lettered + dropped = matched = $EVENTS),
# 4. reports accepted events/s (PutEvents answered, i.e. written to the event store) and
#    delivered events/s end to end (first put to last delivery), and the losses.
#    Target: delivered >= 1,000 events/s with none lost.
# --check: exit 1 if the target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
EVENTS=${EVENTS:-20000}
THREADS=${THREADS:-4}
WARM=${WARM:-2}
CONCURRENCY=${CONCURRENCY:-8}
parse_check_flag "$@"

KUMO=$(release_binary kumo)
KUMO=$(cd "$(dirname "$KUMO")" && pwd)/kumo
work=$(mktemp -d /tmp/kumo-eventbus-XXXXXX)
trap 'stop_runtimes; rm -rf "$work"' EXIT
mkdir -p "$work/sink"
cp Benchmarks/eventbus/sink/app.py "$work/sink/"
cat > "$work/kumo.yaml" <<YAML
version: 1
project: eventbus-bench
functions:
  sink: { runtime: python3, handler: app.handler, code: sink, minInstances: $WARM, concurrency: $CONCURRENCY }
rules:
  orders:
    pattern: { source: ["bench.orders"], detail: { total: [ { numeric: [">", 100] } ] } }
    targets: [ { function: sink } ]
YAML
start_runtime "$work" 2>/dev/null
apply "$work" >/dev/null
port=$(json_get "$work/.kumo/runtime.json" gateway_port)

log "putting $EVENTS events ($THREADS clients, 10 per PutEvents)"
start=$(date +%s.%N)
load=$(python3 Benchmarks/eventbus/load.py "$port" "$EVENTS" "$THREADS")
counts() { "$KUMO" status -C "$work" --json | python3 -c '
import json, sys
r = next(r for r in json.load(sys.stdin)["resources"] if r["address"] == "rule.orders")["detail"]
print(r["matched"], r["delivered"], r["dead_lettered"], r["dropped"], r["pending"] + r["retrying"])'; }
while true; do
  read -r matched delivered dead dropped open < <(counts)
  [[ $open == 0 && $matched -ge $EVENTS ]] && break
  sleep 0.05
done
end=$(date +%s.%N)
python3 - "$load" "$start" "$end" "$matched" "$delivered" "$dead" "$dropped" "$EVENTS" "$CHECK" <<'PY'
import json, sys
load = json.loads(sys.argv[1])
start, end = float(sys.argv[2]), float(sys.argv[3])
matched, delivered, dead, dropped, events = map(int, sys.argv[4:9])
check = sys.argv[9] == "1"
seconds = end - start
rate = delivered / seconds
lost = events - delivered
print(f"accepted: {load['accepted']} events in {load['seconds']:.2f} s = {load['per_second']:,.0f} events/s (PutEvents answered, written), {load['failed']} refused")
print(f"delivered: {delivered} of {events} to the function in {seconds:.2f} s end to end = {rate:,.0f} events/s; "
      f"dead-lettered {dead}, dropped {dropped}, lost {lost}")
ok = rate >= 1000 and lost == 0
print(f"target (>= 1,000 events/s delivered, none lost): {'met' if ok else 'MISSED'}")
sys.exit(1 if check and not ok else 0)
PY
