#!/usr/bin/env bash
# Kumo runtime benchmark: the local runtime's gateway, warm pool, cold start and rollout estimate,
# each against a reference measured in the same run.
#
#   Benchmarks/runtime.sh [--check]
#
# 1. builds release `kumo` and `kumo-bench` into .build-release (never .build),
# 2. warm latency: $REQUESTS sequential POSTs (after $WARMUP_REQUESTS uncounted) on one
#    keep-alive connection through the gateway's Lambda Invoke API to a warm python3 echo
#    function, and the same with the same client (`kumo-bench load`, AsyncHTTPClient) to the
#    reference, Benchmarks/runtime/echo_server.py: a raw-socket, thread-per-connection Python
#    HTTP/1.1 server doing the handler's JSON work (json.loads + json.dumps); $ROUNDS alternating
#    rounds, median of each round's p50 and p99. Target: gateway p50 <= 3x direct p50.
#    Also measured (info): the same answer from Python's http.server (echo_server.py --stdlib);
#    two floors, `kumo-bench serve`, a Hummingbird echo (one exchange on the server stack Kumo
#    uses), and `kumo-bench serve --pull`, a minimal broker with the gateway's design (client
#    exchange + long-polled Runtime API exchange + one actor) driving 4 workers that run Kumo's
#    own python bootstrap, and `kumo-bench serve --pull-loop`, the same broker as callbacks on
#    one SwiftNIO event loop (the design the gateway now has); and the gateway's http trigger
#    POST /echo.
#    For the gateway and the broker: CPU time and context switches per call of the server process
#    and of the workers (from /proc).
# 3. throughput: $CONCURRENCY connections for $DURATION s (after 1 s uncounted) through the Invoke
#    API to the echo function with 4 warm workers (minInstances 4, concurrency 4), with the CPU
#    time and context switches of the runtime daemon and the workers; the same for the broker
#    floor and the reference server (info); $ROUNDS alternating rounds, median.
#    Target: >= 2,000 invocations/s.
# 4. cold start: the first invocation of each of $COLD identical functions with no warm worker
#    (minInstances 0; `kumo-bench first`, on a connection opened on the warm function), median,
#    against the median of `python3 -c 'import sys; sys.path.insert(0, DIR); import app'` runs
#    interleaved with them one for one (so both see the same machine). Target: <= 1.5x.
#    When python3 on PATH is not the interpreter itself (a pyenv shim, say), both are measured
#    again in another runtime with the interpreter's own directory first on PATH (info).
# 5. calibration: applies $SIZES functions (minInstances 1, --parallelism $PARALLELISM, destroying
#    between sizes) to a fresh runtime, runs `kumo calibrate --json`, then plans and applies
#    $VERIFY fresh functions: the plan's estimate.seconds against the apply's wall time.
#    Target: within 25%. The same for $VERIFY_EXTRA fresh functions (info).
# 6. prints a report and writes Benchmarks/data/runtime-results.json.
#
# --check: exit 1 if a target is missed (default: report only).
# Environment: KUMO=path, KUMO_BENCH=path use prebuilt binaries; REQUESTS (2000),
#   WARMUP_REQUESTS (200), ROUNDS (3), CONCURRENCY (8), DURATION (5), COLD (20),
#   SIZES ("1 5 10 20 50"), VERIFY (30), VERIFY_EXTRA ("15"), PARALLELISM (10);
#   PERF=1 also profiles the runtime daemon (`perf record -g`) in two extra gateway runs that are
#   not reported (perf takes CPU from the same 2 cores): sequential, and under load
#   (Benchmarks/data/runtime-perf-{latency,throughput}.{data,txt}).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
source Benchmarks/lib.sh
parse_check_flag "$@"

REQUESTS=${REQUESTS:-2000}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-200}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-8}
DURATION=${DURATION:-5}
COLD=${COLD:-20}
SIZES=${SIZES:-"1 5 10 20 50"}
VERIFY=${VERIFY:-30}
VERIFY_EXTRA=${VERIFY_EXTRA:-15}
PARALLELISM=${PARALLELISM:-10}
SCRATCH=.build-release
DATA=Benchmarks/data
RESULTS=$DATA/runtime-results.json
FIXTURES=$ROOT/Benchmarks/runtime
BODY='{"hello": "world", "n": 42, "items": [1, 2, 3]}'

# --- 1. build ---------------------------------------------------------------------------------
KUMO_BENCH=${KUMO_BENCH:-$(release_binary kumo-bench)}
KUMO=${KUMO:-$(release_binary kumo)}
for bin in "$KUMO_BENCH" "$KUMO"; do
    [[ -x "$bin" ]] || { echo "runtime.sh: missing executable: $bin" >&2; exit 1; }
done
KUMO=$(realpath "$KUMO")
KUMO_BENCH=$(realpath "$KUMO_BENCH")
PYTHON=$(command -v python3)
PYTHON_REAL=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
mkdir -p "$DATA"

# --- runtimes, cleaned up whatever happens ------------------------------------------------------
TMP=$(mktemp -d)
ECHO_PID=""
PERF_PID=""
FLOOR_PIDS=()  # kumo-bench serve (echo and broker) and the broker's workers
stop_floors() {
    local pid
    for pid in "${FLOOR_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${FLOOR_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    FLOOR_PIDS=()
}
cleanup() {
    set +e
    [[ -n "$PERF_PID" ]] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
    [[ -n "$ECHO_PID" ]] && kill "$ECHO_PID" 2>/dev/null && wait "$ECHO_PID" 2>/dev/null
    stop_floors
    stop_runtimes
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# write_project DIR: the fixture handler in DIR/fn and a manifest from stdin.
write_project() {
    mkdir -p "$1/fn"
    cp "$FIXTURES/app.py" "$1/fn/app.py"
    cat >"$1/kumo.yaml"
}

# functions PREFIX N MIN CONCURRENCY: N manifest entries PREFIX0..PREFIX{N-1}.
functions() {
    local i
    for ((i = 0; i < $2; i++)); do
        printf '  %s%d:\n    runtime: python3\n    handler: app.echo\n    code: fn\n    minInstances: %d\n    concurrency: %d\n' "$1" "$i" "$3" "$4"
    done
}

# proc_stats PID...: one JSON list per process: [user+system CPU seconds, context switches
# (voluntary and not, summed over its threads)].
proc_stats() {
    python3 - "$@" <<'PY'
import json, os, sys
tick = os.sysconf("SC_CLK_TCK")
stats = []
for pid in sys.argv[1:]:
    fields = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    switches = 0
    for task in os.listdir("/proc/%s/task" % pid):
        for line in open("/proc/%s/task/%s/status" % (pid, task)):
            if "ctxt_switches" in line:  # voluntary_ctxt_switches, nonvoluntary_ctxt_switches
                switches += int(line.split()[1])
    stats.append([(int(fields[11]) + int(fields[12])) / tick, switches])
print(json.dumps(stats))
PY
}

# perf_start NAME / perf_stop NAME: with PERF=1, profile the runtime daemon in between.
perf_start() {
    [[ "${PERF:-0}" == 1 ]] || return 0
    rm -f "$DATA/runtime-perf-$1.data" "$DATA/runtime-perf-$1.data.old"  # perf would keep the last one as .old
    perf record -g -F 999 -p "$DAEMON" -o "$DATA/runtime-perf-$1.data" >/dev/null 2>"$TMP/perf-$1.err" &
    PERF_PID=$!
    sleep 0.5
}
perf_stop() {
    [[ -n "$PERF_PID" ]] || return 0
    kill -INT "$PERF_PID"; wait "$PERF_PID" || true; PERF_PID=""
    { perf report -i "$DATA/runtime-perf-$1.data" --no-children --percent-limit 0.5 --stdio -g none --sort dso,sym
      perf report -i "$DATA/runtime-perf-$1.data" --children --percent-limit 1 --stdio -g none --sort sym
    } >"$DATA/runtime-perf-$1.txt" 2>/dev/null || true
    log "perf profile of the daemon: $DATA/runtime-perf-$1.txt"
}

# wait_port FILE: waits until a server wrote its port to FILE, and prints it.
wait_port() {
    local _
    for _ in $(seq 200); do [[ -s "$1" ]] && { cat "$1"; return; }; sleep 0.05; done
    echo "runtime.sh: no port in $1" >&2
    exit 1
}

# --- 2. warm latency --------------------------------------------------------------------------
BENCH=$TMP/bench
write_project "$BENCH" <<EOF
version: 1
project: bench
functions:
  echo:
    runtime: python3
    handler: app.echo
    code: fn
    minInstances: 4
    concurrency: 4
    events:
      - http: { method: POST, path: /echo }
$(functions f "$COLD" 0 1)
EOF
log "starting a runtime for $BENCH and applying echo (4 warm workers) and f0..f$((COLD - 1)) (none warm)"
start_runtime "$BENCH"
apply "$BENCH" --parallelism "$PARALLELISM" >"$TMP/bench-apply.txt" || { cat "$TMP/bench-apply.txt" >&2; exit 1; }
GATEWAY=http://127.0.0.1:$(json_get "$BENCH/.kumo/runtime.json" gateway_port)
DAEMON=$(json_get "$BENCH/.kumo/runtime.json" pid)
INVOKE=$GATEWAY/2015-03-31/functions

log "starting the reference server (Benchmarks/runtime/echo_server.py)"
python3 "$FIXTURES/echo_server.py" "$TMP/echo.port" &
ECHO_PID=$!
DIRECT=http://127.0.0.1:$(wait_port "$TMP/echo.port")/echo
python3 "$FIXTURES/echo_server.py" "$TMP/stdlib.port" --stdlib &
FLOOR_PIDS+=($!)
STDLIB=http://127.0.0.1:$(wait_port "$TMP/stdlib.port")/echo

log "starting the floors: kumo-bench serve (Hummingbird echo), serve --pull with 4 bootstrap workers"
BOOTSTRAP=$(dirname "$KUMO")/kumo_KumoRuntime.resources/Bootstraps/kumo_python_bootstrap.py
[[ -f "$BOOTSTRAP" ]] || BOOTSTRAP=$ROOT/Sources/KumoRuntime/Bootstraps/kumo_python_bootstrap.py
"$KUMO_BENCH" serve "$TMP/hb.port" &
FLOOR_PIDS+=($!)
"$KUMO_BENCH" serve "$TMP/broker.port" --pull &
BROKER_PID=$!
FLOOR_PIDS+=($!)
"$KUMO_BENCH" serve "$TMP/loop.port" --pull-loop &
LOOP_PID=$!
FLOOR_PIDS+=($!)
HB=http://127.0.0.1:$(wait_port "$TMP/hb.port")/echo
BROKER_PORT=$(wait_port "$TMP/broker.port")
BROKER=http://127.0.0.1:$BROKER_PORT/invoke
LOOP_PORT=$(wait_port "$TMP/loop.port")
LOOP=http://127.0.0.1:$LOOP_PORT/invoke
BROKER_WORKERS=()
LOOP_WORKERS=()
for _ in 1 2 3 4; do
    # The environment Kumo gives a worker, as far as the bootstrap reads it.
    for port in "$BROKER_PORT" "$LOOP_PORT"; do
        (cd "$BENCH/fn" && exec env AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" _HANDLER=app.echo \
            LAMBDA_TASK_ROOT="$BENCH/fn" AWS_LAMBDA_FUNCTION_NAME=echo python3 "$BOOTSTRAP") &
        FLOOR_PIDS+=($!)
        if [[ $port == "$BROKER_PORT" ]]; then BROKER_WORKERS+=($!); else LOOP_WORKERS+=($!); fi
    done
done

load() { "$KUMO_BENCH" load "$@" --body "$BODY"; }
# measure NAME PID... -- LOAD-ARGS...: kumo-bench load with LOAD-ARGS into NAME.json, and into
# NAME-proc.json what each PID used meanwhile: [[CPU seconds, context switches], ...].
measure() {
    local name=$1 pids=() before after; shift
    while [[ $1 != -- ]]; do pids+=("$1"); shift; done; shift
    before=$(proc_stats "${pids[@]}")
    load "$@" >"$TMP/$name.json"
    after=$(proc_stats "${pids[@]}")
    python3 -c 'import json, sys; b, a = json.loads(sys.argv[2]), json.loads(sys.argv[3])
json.dump([[y[0] - x[0], y[1] - x[1]] for x, y in zip(b, a)], open(sys.argv[1], "w"))' "$TMP/$name-proc.json" "$before" "$after"
}
# tput NAME URL PID...: $CONCURRENCY connections to URL for $DURATION s after 1 s uncounted.
tput() {
    local name=$1 url=$2; shift 2
    load "$url" --concurrency "$CONCURRENCY" --duration 1 >/dev/null
    measure "$name" "$@" -- "$url" --concurrency "$CONCURRENCY" --duration "$DURATION"
}
# The workers' processes: each reported pid (kumo-init, when isolated) and everything below it.
WORKERS=$("$KUMO" runtime status -C "$BENCH" --json | python3 -c 'import json, sys
def tree(pid):
    try: children = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    except OSError: children = []
    return [pid] + [p for c in children for p in tree(int(c))]
for r in json.load(sys.stdin)["resources"]:
    if r["address"] == "function.echo": print(" ".join(str(p) for pid in r["detail"]["pids"] for p in tree(pid)))')
for ((round = 1; round <= ROUNDS; round++)); do
    log "latency round $round/$ROUNDS: $REQUESTS sequential requests each: reference, http.server, floors, gateway"
    load "$DIRECT" --requests "$REQUESTS" --warmup-requests "$WARMUP_REQUESTS" --expect "$BODY" >"$TMP/lat-direct-$round.json"
    load "$STDLIB" --requests "$REQUESTS" --warmup-requests "$WARMUP_REQUESTS" --expect "$BODY" >"$TMP/lat-stdlib-$round.json"
    load "$HB" --requests "$REQUESTS" --warmup-requests "$WARMUP_REQUESTS" --expect "$BODY" >"$TMP/lat-hb-$round.json"
    measure "lat-broker-$round" "$BROKER_PID" "${BROKER_WORKERS[@]}" -- \
        "$BROKER" --requests "$REQUESTS" --warmup-requests "$WARMUP_REQUESTS" --expect "$BODY"
    measure "lat-loop-$round" "$LOOP_PID" "${LOOP_WORKERS[@]}" -- \
        "$LOOP" --requests "$REQUESTS" --warmup-requests "$WARMUP_REQUESTS" --expect "$BODY"
    measure "lat-gateway-$round" "$DAEMON" $WORKERS -- \
        "$INVOKE/echo/invocations" --requests "$REQUESTS" --warmup-requests "$WARMUP_REQUESTS" --expect "$BODY"
done
log "latency through the http trigger POST /echo (info)"
load "$GATEWAY/echo" --requests "$REQUESTS" --warmup-requests "$WARMUP_REQUESTS" >"$TMP/lat-http.json"
if [[ "${PERF:-0}" == 1 ]]; then  # an extra, unreported run: perf itself takes CPU from the 2 cores
    perf_start latency
    load "$INVOKE/echo/invocations" --requests "$REQUESTS" >/dev/null
    perf_stop latency
fi

# --- 3. throughput ----------------------------------------------------------------------------
for ((round = 1; round <= ROUNDS; round++)); do
    log "throughput round $round/$ROUNDS: $CONCURRENCY connections for $DURATION s each: gateway, broker floor, reference"
    tput "tput-gateway-$round" "$INVOKE/echo/invocations" "$DAEMON" $WORKERS
    tput "tput-broker-$round" "$BROKER" "$BROKER_PID" "${BROKER_WORKERS[@]}"
    tput "tput-loop-$round" "$LOOP" "$LOOP_PID" "${LOOP_WORKERS[@]}"
    tput "tput-direct-$round" "$DIRECT" "$ECHO_PID"
done
if [[ "${PERF:-0}" == 1 ]]; then
    perf_start throughput
    load "$INVOKE/echo/invocations" --concurrency "$CONCURRENCY" --duration "$DURATION" >/dev/null
    perf_stop throughput
fi
kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID" 2>/dev/null || true; ECHO_PID=""
stop_floors

# --- 4. cold start ----------------------------------------------------------------------------
# cold DIR NAME PYTHON: the first invocation of f0..f{COLD-1}, each one interleaved with a run of
# the baseline with PYTHON, so both see the same machine; NAME.json holds both series.
cold() {
    local gateway
    gateway=http://127.0.0.1:$(json_get "$1/.kumo/runtime.json" gateway_port)/2015-03-31/functions
    python3 - "$KUMO_BENCH" "$gateway" "$COLD" "$1/fn" "$BODY" "$TMP/$2.json" "$3" <<'PY'
import json, subprocess, sys, time
bench, gateway, count, code, body, out, python = sys.argv[1:]
count = int(count)
baseline = [python, "-c", "import sys; sys.path.insert(0, %r); import app" % code]
def run_baseline():
    start = time.perf_counter()
    subprocess.run(baseline, check=True)
    return time.perf_counter() - start
run_baseline()  # warm-up
runs, first = [], []
for i in range(count):
    runs.append(run_baseline())
    answer = json.loads(subprocess.run([bench, "first", "--warm", gateway + "/echo/invocations", "--body", body, "--expect", body,
                                        "%s/f%d/invocations" % (gateway, i)], check=True, capture_output=True, text=True).stdout)
    first.append(answer["requests"][0])
json.dump({"python": python, "baseline": runs, "requests": first, "errors": sum(1 for r in first if r["ms"] is None)}, open(out, "w"))
PY
    "$KUMO" runtime status -C "$1" --json >"$TMP/$2-status.json"
}
log "cold start: first invocation of f0..f$((COLD - 1)), interleaved with python3 importing the handler"
cold "$BENCH" cold "$PYTHON"
"$KUMO" runtime stop -C "$BENCH" >/dev/null

if [[ "$(realpath "$PYTHON")" != "$PYTHON_REAL" ]]; then
    REAL_DIR=$(dirname "$PYTHON_REAL")
    log "python3 on PATH ($PYTHON) is not the interpreter; again with $REAL_DIR first on PATH (info)"
    BENCH2=$TMP/bench-real
    write_project "$BENCH2" <"$BENCH/kumo.yaml"
    start_runtime "$BENCH2" "$REAL_DIR:$PATH"
    apply "$BENCH2" --parallelism "$PARALLELISM" >"$TMP/bench2-apply.txt" || { cat "$TMP/bench2-apply.txt" >&2; exit 1; }
    cold "$BENCH2" cold-real "$PYTHON_REAL"
    "$KUMO" runtime stop -C "$BENCH2" >/dev/null
fi

# --- 5. calibration ---------------------------------------------------------------------------
# warm_functions PREFIX N: N functions like echo with one warm worker each.
warm_functions() { functions "$1" "$2" 1 1; }
calibration functions warm_functions

# --- 6. report --------------------------------------------------------------------------------
python3 - "$TMP" "$RESULTS" "$CHECK" "$KUMO" "$KUMO_BENCH" "$PYTHON" "$PYTHON_REAL" "$SIZES" "$ROUNDS" "$VERIFY_EXTRA" <<'PY'
import datetime, json, os, platform, re, statistics, sys
tmp, results, check, kumo, bench, python, python_real, sizes, rounds, extra = sys.argv[1:]
rounds = range(1, int(rounds) + 1)
def load(name):
    path = os.path.join(tmp, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None
median = statistics.median
mark = lambda ok: "PASS" if ok else "FAIL"

# Latency: median over rounds of each round's p50 and p99.
series = {name: [load("lat-%s-%d" % (name, r)) for r in rounds] for name in ("direct", "stdlib", "hb", "broker", "loop", "gateway")}
http = load("lat-http")
# Throughput: median over rounds of invocations/s; CPU per invocation over all rounds.
tputs = {name: [load("tput-%s-%d" % (name, r)) for r in rounds] for name in ("gateway", "broker", "loop", "direct")}
def per_call(prefix):
    """CPU microseconds and context switches per call of the server (first PID) and of the workers (the rest)."""
    calls = cpu = switches = None
    runs = [(load("%s-%d" % (prefix, r)), load("%s-%d-proc" % (prefix, r))) for r in rounds]
    calls = sum(run["count"] + run["errors"] + run.get("warmup_count", 0) for run, _ in runs)
    server = [sum(p[0][i] for _, p in runs) / calls for i in (0, 1)]
    workers = [sum(sum(x[i] for x in p[1:]) for _, p in runs) / calls for i in (0, 1)]
    return {"serverCpuUs": server[0] * 1e6, "serverSwitches": server[1], "workersCpuUs": workers[0] * 1e6, "workersSwitches": workers[1]}
for run in [run for runs in list(series.values()) + list(tputs.values()) for run in runs] + [http]:
    if run["errors"]:
        print("runtime.sh: %d errors against %s, first: %s" % (run["errors"], run["url"], run["first_error"]), file=sys.stderr)
keys = ("count", "errors", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms")
lat = {name: {"p50_ms": median([r["p50_ms"] for r in runs]), "p99_ms": median([r["p99_ms"] for r in runs]),
              "errors": sum(r["errors"] for r in runs), "rounds": [{k: r[k] for k in keys} for r in runs]}
       for name, runs in series.items()}
lat["httpTrigger"] = {k: http[k] for k in ("count", "errors", "p50_ms", "p99_ms")}
lat["gateway"]["perCall"], lat["broker"]["perCall"], lat["loop"]["perCall"] = per_call("lat-gateway"), per_call("lat-broker"), per_call("lat-loop")
ref50 = lat["direct"]["p50_ms"]
lat_ratio = lat["gateway"]["p50_ms"] / ref50
lat_ok = lat_ratio <= 3.0 and lat["gateway"]["errors"] == 0 and lat["direct"]["errors"] == 0

def throughput(name):
    runs = tputs[name]
    return {"rps": median([r["rps"] for r in runs]), "rounds": [r["rps"] for r in runs], "errors": sum(r["errors"] for r in runs),
            "p50_ms": median([r["p50_ms"] for r in runs]), "p99_ms": median([r["p99_ms"] for r in runs]),
            "perCall": per_call("tput-" + name),
            "clientCpuUsPerCall": sum(r["client_cpu_seconds"] for r in runs) / max(1, sum(r["count"] for r in runs)) * 1e6}
tput = {name: throughput(name) for name in ("gateway", "broker", "loop", "direct")}
concurrency, duration = tputs["gateway"][0]["concurrency"], tputs["gateway"][0]["seconds"]
tput_ok = tput["gateway"]["rps"] >= 2000 and tput["gateway"]["errors"] == 0

def cold_figures(name):
    runs = load(name)
    if runs is None:
        return None
    ms = [r["ms"] for r in runs["requests"] if r["ms"] is not None]
    status = {r["address"]: r["detail"] for r in load(name + "-status")["resources"]}
    value = {"python": runs["python"], "medianMs": median(ms) if ms else None, "ms": ms, "errors": runs["errors"],
             "coldStarts": sum(status.get("function.f%d" % i, {}).get("cold_starts", 0) for i in range(len(runs["requests"]))),
             "baselineMedianMs": median(runs["baseline"]) * 1000, "baselineMs": [x * 1000 for x in runs["baseline"]]}
    value["ratio"] = value["medianMs"] / value["baselineMedianMs"] if ms else None
    return value
cold, cold_real = cold_figures("cold"), cold_figures("cold-real")
cold_ok = cold["errors"] == 0 and cold["coldStarts"] == len(cold["ms"]) and cold["ratio"] <= 1.5

calibration = load("calibration")
fit = calibration.get("functions", {})
def executor_seconds(text):
    took = re.search(r"Took ([\d.]+) (ms|s)\b", text)
    return float(took.group(1)) / (1000 if took.group(2) == "ms" else 1) if took else None
applies = [{"functions": int(n), "wallSeconds": load("cal-%s" % n)["seconds"],
            "executorSeconds": executor_seconds(open(os.path.join(tmp, "cal-%s.txt" % n)).read())} for n in sizes.split()]
def verification(name):
    plan = load(name + "-plan")
    value = {"functions": sum(1 for c in plan["resource_changes"] if c["action"] == "create"),
             "estimateSeconds": plan["estimate"]["seconds"], "coefficients": plan["estimate"]["coefficients"]["functions"],
             "waves": plan["estimate"]["waves"], "wallSeconds": load(name)["seconds"],
             "executorSeconds": executor_seconds(open(os.path.join(tmp, name + ".txt")).read())}
    value["differencePercent"] = (value["estimateSeconds"] - value["wallSeconds"]) / value["wallSeconds"] * 100
    return value
estimate = load("verify-plan")["estimate"]
verify = verification("verify")
extras = [verification("verify-extra-" + m) for m in extra.split()]
cal_ok = verify["coefficients"]["source"] == "calibrated" and abs(verify["differencePercent"]) <= 25

W = 58
def row(label, value, target="", verdict=""):
    print("  %-*s %18s  %-12s %s" % (W, label, value, target, verdict))
print()
print("Kumo runtime benchmark  (%d cores; load generator: kumo-bench load, AsyncHTTPClient, keep-alive, one event-loop thread)" % os.cpu_count())
print()
row("measurement", "value", "target")
print("  Warm latency: %d sequential requests on one connection, median of %d rounds (p50 / p99, ms)"
      % (series["direct"][0]["count"], len(rounds)))
def lat_row(label, name, target="info"):
    row(label, "%.3f / %.3f  %4.2fx" % (lat[name]["p50_ms"], lat[name]["p99_ms"], lat[name]["p50_ms"] / ref50), target)
lat_row("  reference: echo_server.py (raw socket)", "direct", "reference")
lat_row("  the same answer from Python's http.server", "stdlib")
lat_row("  floor: Hummingbird echo (kumo-bench serve)", "hb")
lat_row("  floor: broker + 4 bootstraps (kumo-bench serve --pull)", "broker")
lat_row("  floor: one-loop broker + 4 bootstraps (serve --pull-loop)", "loop")
lat_row("  Kumo gateway, Lambda Invoke API", "gateway", "")
def per_call_row(label, value):
    row(label, "%.0f + %.0f us, %.1f + %.1f" % (value["serverCpuUs"], value["workersCpuUs"], value["serverSwitches"], value["workersSwitches"]), "info")
per_call_row("    per call: CPU, switches (daemon + workers)", lat["gateway"]["perCall"])
per_call_row("    per call, broker floor (broker + workers)", lat["broker"]["perCall"])
per_call_row("    per call, one-loop floor (broker + workers)", lat["loop"]["perCall"])
row("  ratio p50 gateway / reference", "%.2fx" % lat_ratio, "<= 3x", mark(lat_ok))
row("  ratio p50 gateway / http.server", "%.2fx" % (lat["gateway"]["p50_ms"] / lat["stdlib"]["p50_ms"]), "info")
row("  Kumo gateway, http trigger POST /echo", "%.3f / %.3f  %4.2fx" % (http["p50_ms"], http["p99_ms"], http["p50_ms"] / ref50), "info")
print("  Throughput: %d connections, %.0f s, median of %d rounds (per call: CPU, context switches; server + workers)" % (concurrency, duration, len(rounds)))
g, b, l, d = tput["gateway"], tput["broker"], tput["loop"], tput["direct"]
row("  Kumo gateway, 4 warm workers", "%.0f/s" % g["rps"], ">= 2000/s", mark(tput_ok))
row("    rounds", " ".join("%.0f" % x for x in g["rounds"]), "info")
row("    p50 / p99 under load", "%.2f / %.2f ms" % (g["p50_ms"], g["p99_ms"]), "info")
per_call_row("    per call (daemon + workers)", g["perCall"])
row("  floor: broker + 4 bootstraps", "%.0f/s" % b["rps"], "info")
per_call_row("    per call (broker + workers)", b["perCall"])
row("  floor: one-loop broker + 4 bootstraps", "%.0f/s" % l["rps"], "info")
per_call_row("    per call (broker + workers)", l["perCall"])
row("  reference: echo_server.py", "%.0f/s" % d["rps"], "info")
row("    CPU per request", "%.0f us" % d["perCall"]["serverCpuUs"], "info")  # its threads end with their connections: no switch count
row("  load generator CPU per call: gateway, broker, reference", "%.0f, %.0f, %.0f us" % (g["clientCpuUsPerCall"], b["clientCpuUsPerCall"], d["clientCpuUsPerCall"]), "info")
print("  Cold start: first invocation of %d functions (minInstances 0), median, interleaved with the baseline" % len(cold["ms"]))
for value, target in ((cold, True), (cold_real, False)):
    if value is None:
        continue
    row("  python3 -c 'import app' (%s)" % value["python"].replace("/root/", "~/"), "%.1f ms" % value["baselineMedianMs"], "reference" if target else "info")
    row("  first invocation through the gateway", "%.1f ms" % value["medianMs"], "" if target else "info")
    row("  ratio", "%.2fx" % value["ratio"], "<= 1.5x" if target else "info", mark(cold_ok) if target else "")
print("  Calibration: applies of %s functions (minInstances 1, parallelism %d), then %d fresh ones"
      % (", ".join(sizes.split()), estimate["parallelism"], verify["functions"]))
for a in applies:
    row("    apply %d: wall (the executor's 'Took')" % a["functions"], "%.2f s (%.1f s)" % (a["wallSeconds"], a["executorSeconds"] or 0))
if "init_ms" in fit:
    row("  kumo calibrate: T_init, T_exec", "%.0f ms, %.1f ms" % (fit["init_ms"], fit["each_ms"]), "info")
    row("    samples, RMS error", "%d, %.1f ms" % (fit["samples"], fit["rmse_ms"]), "info")
else:
    row("  kumo calibrate", "no fit: %s" % json.dumps(calibration))
row("  plan estimate for %d fresh functions (%s: %d + %d ms)" % (verify["functions"], verify["coefficients"]["source"],
    verify["coefficients"]["init_ms"], verify["coefficients"]["each_ms"]), "%.2f s" % verify["estimateSeconds"])
row("  kumo apply, wall time (the executor's 'Took')", "%.2f s (%.1f s)" % (verify["wallSeconds"], verify["executorSeconds"] or 0), "reference")
row("  estimate vs apply", "%+.1f%%" % verify["differencePercent"], "within 25%", mark(cal_ok))
for x in extras:
    row("  %d fresh functions: estimate, apply wall time" % x["functions"], "%.2f s, %.2f s" % (x["estimateSeconds"], x["wallSeconds"]), "info")
    row("    estimate vs apply", "%+.1f%%" % x["differencePercent"], "info")
print()

out = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": {"machine": platform.machine(), "system": platform.system(), "cpus": os.cpu_count(), "loadavg": open("/proc/loadavg").read().split()[:3]},
    "binaries": {"kumo": kumo, "kumo-bench": bench, "python3": python, "python3Resolved": python_real},
    "latency": dict(lat, ratio={"value": lat_ratio, "target": 3.0, "pass": lat_ok}),
    "throughput": dict(tput, concurrency=concurrency, seconds=duration, target=2000, **{"pass": tput_ok}),
    "coldStart": dict(cold, target=1.5, **{"pass": cold_ok}),
    "coldStartResolvedInterpreter": cold_real,
    "calibration": {"fit": fit, "applies": applies, "verify": verify, "verifyExtra": extras, "target": 25, "pass": cal_ok},
    "pass": lat_ok and tput_ok and cold_ok and cal_ok,
}
with open(results, "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
print("wrote %s" % results)
sys.exit(1 if check == "1" and not out["pass"] else 0)
PY
