#!/usr/bin/env bash
# Kumo soak: the gateway under a bounded loopback load with slow clients mixed in, then the
# daemon's descriptors and resident memory against their level before the load (issue 15).
#
#   Benchmarks/soak.sh
#
# 1. builds release `kumo` into .build-release (never .build), unless KUMO is set;
# 2. starts a runtime for a project with one python3 echo function (Benchmarks/runtime/app.py,
#    minInstances = concurrency = 4, so the worker count does not change) and applies it;
# 3. runs Benchmarks/soak/soak.py against the gateway: a warm-up of $WARMUP s, then the baseline
#    (the daemon's open descriptors, `ls /proc/PID/fd`, and VmRSS from /proc/PID/status); then
#    $CLIENTS well-behaved keep-alive clients calling the function through the Lambda Invoke API
#    for $DURATION s, with slow clients opened in turn every $SLOW_EVERY s (one that sends
#    nothing, one that sends half a request head and stalls, one that sends a malformed request)
#    and an idle keep-alive client every $IDLE_EVERY s (0: none); then it waits until the server
#    has closed every slow (10 s header timeout) and idle (60 s idle timeout) connection;
# 4. prints the figures and fails (exit 1) unless: no error for the well-behaved clients, every
#    slow and idle connection closed by the server within its timeout (400 for each malformed
#    request), and descriptors and VmRSS after the timeouts within ±$TOLERANCE of the baseline.
#    The last JSON line of the report goes to Benchmarks/data/soak-results.json.
#
# Takes about 2.5 minutes with the defaults (60 s of load, then up to 63 s for the idle timeout).
# Environment: KUMO=path uses a prebuilt binary; DURATION (60), WARMUP (10), CLIENTS (16),
#   THINK_MS (2, between a client's requests), SLOW_EVERY (0.1), IDLE_EVERY (2), TOLERANCE (0.10).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
source Benchmarks/lib.sh
for arg in "$@"; do
    case "$arg" in
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

DURATION=${DURATION:-60}
WARMUP=${WARMUP:-10}
CLIENTS=${CLIENTS:-16}
THINK_MS=${THINK_MS:-2}
SLOW_EVERY=${SLOW_EVERY:-0.1}
IDLE_EVERY=${IDLE_EVERY:-2}
TOLERANCE=${TOLERANCE:-0.10}
DATA=Benchmarks/data
RESULTS=$DATA/soak-results.json

KUMO=${KUMO:-$(release_binary kumo)}
[[ -x "$KUMO" ]] || { echo "soak.sh: missing executable: $KUMO" >&2; exit 1; }
KUMO=$(realpath "$KUMO")
mkdir -p "$DATA"

TMP=$(mktemp -d)
cleanup() {
    set +e
    stop_runtimes
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PROJECT=$TMP/soak
mkdir -p "$PROJECT/fn"
cp "$ROOT/Benchmarks/runtime/app.py" "$PROJECT/fn/app.py"
cat >"$PROJECT/kumo.yaml" <<'YAML'
version: 1
project: soak
functions:
  echo:
    runtime: python3
    handler: app.echo
    code: fn
    minInstances: 4
    concurrency: 4
    timeout: 10s
YAML
log "starting a runtime for $PROJECT and applying function echo (4 warm workers)"
start_runtime "$PROJECT"
apply "$PROJECT" >"$TMP/apply.txt" || { cat "$TMP/apply.txt" >&2; exit 1; }
DAEMON=$(json_get "$PROJECT/.kumo/runtime.json" pid)
GATEWAY=$(json_get "$PROJECT/.kumo/runtime.json" gateway_port)
log "daemon $DAEMON ($("$KUMO" --version 2>/dev/null || echo kumo)), gateway 127.0.0.1:$GATEWAY"

status=0
python3 "$ROOT/Benchmarks/soak/soak.py" --port "$GATEWAY" --pid "$DAEMON" --duration "$DURATION" --warmup "$WARMUP" \
    --clients "$CLIENTS" --think-ms "$THINK_MS" --slow-every "$SLOW_EVERY" --idle-every "$IDLE_EVERY" \
    --tolerance "$TOLERANCE" >"$TMP/report.txt" || status=$?
grep -v '^{' "$TMP/report.txt" || true
grep '^{' "$TMP/report.txt" >"$RESULTS" || true
# What the runtime logged about connections (a cap reached, say) during the soak.
grep -h "open connections" "$PROJECT/.kumo/logs/runtime.log" 2>/dev/null | sed 's/^/runtime log: /' || true
exit "$status"
