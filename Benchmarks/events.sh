#!/usr/bin/env bash
# Kumo event-matching benchmark: KumoEvents' Matcher against the JSON parse it rides on.
#
#   Benchmarks/events.sh [--check] [--events N] [--rules N,N,...]
#
# 1. builds release `kumo-bench` into .build-release (never .build),
# 2. runs `kumo-bench events-match`: 100,000 generated EventBridge envelopes (1-4 KB, fixed
#    seed) and 10, 100, 1,000 and 10,000 generated rules; on one thread it times parse-only and
#    parse+match with the same parser, per rule count,
# 3. prints events/s for both and their ratio, and writes Benchmarks/events-results.json.
#
# Target: ratio >= 0.5 at 1,000 rules, about flat across rule counts. --check: exit 1 if the
# 1,000-rule ratio is missed. Environment: KUMO_BENCH=path uses a prebuilt binary.
set -euo pipefail

cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
CHECK=0
ARGS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --check) CHECK=1; shift ;;
        --events|--rules) ARGS+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "events.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

BENCH=${KUMO_BENCH:-$(release_binary kumo-bench)}
RESULTS=Benchmarks/events-results.json

log "kumo-bench events-match ${ARGS[*]:-}"
OUTPUT=$("$BENCH" events-match "${ARGS[@]}")
echo "$OUTPUT" | grep '^rules '
echo "$OUTPUT" | tail -n 1 > "$RESULTS"
log "results in $RESULTS"

if [[ $CHECK == 1 ]]; then
    python3 - "$RESULTS" <<'PY'
import json, sys
results = {r["rules"]: r for r in json.load(open(sys.argv[1]))["results"]}
r = results.get(1000)
if r is None:
    sys.exit("no 1,000-rule measurement")
if r["ratio"] < 0.5:
    sys.exit(f"ratio {r['ratio']} at 1,000 rules is below 0.5")
print(f"ok: ratio {r['ratio']} at 1,000 rules")
PY
fi
