#!/usr/bin/env bash
# Kumo services benchmark: a service's front port against its replica's own port, and the
# rollout time of m services, each against a reference measured in the same run.
#
#   Benchmarks/services.sh [--check]
#
# 1. builds release `kumo` into .build-release (never .build); installs wrk (Debian package)
#    when it is missing.
# 2. front port: one service `web` with one replica, Benchmarks/services/server.py (Python's
#    ThreadingHTTPServer answering GET / with a short JSON document), behind a front port; it
#    declares `resources: { cpu: 2 }` so that its CPU limit (a cgroup quota, where the machine
#    allows one) does not cap it below what it can do.
#    wrk -t1 -c$CONNECTIONS -d${DURATION}s GET / against the replica's own port (direct, the
#    reference) and against the front port, $ROUNDS alternating rounds after a 1 s warm-up of
#    each; medians of requests/s and of p50/p99 latency (Benchmarks/services/report.lua).
#    Targets: front-port throughput >= 70% of direct; front p99 - direct p99 < 1 ms.
#    Also (info): the same with one connection (-c1), where latency is the proxy's own and not
#    queueing; the daemon's CPU time per proxied request.
# 3. S(m): applies $SIZES services (one replica each, default resources, tcp health check,
#    --parallelism $PARALLELISM, destroying between sizes) to a fresh runtime, runs `kumo calibrate --json`,
#    then plans and applies $VERIFY fresh services: the plan's estimate against the apply's wall
#    time. Target: within 25%. The same for $VERIFY_EXTRA fresh services (info).
# 4. prints a report and writes Benchmarks/data/services-results.json.
#
# --check: exit 1 if a target is missed (default: report only).
# Environment: KUMO=path uses a prebuilt binary; ROUNDS (5), CONNECTIONS (8), DURATION (5),
#   SIZES ("1 5 10 20"), PARALLELISM (4), VERIFY (12), VERIFY_EXTRA ("3").
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
source Benchmarks/lib.sh
parse_check_flag "$@"

ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-8}
DURATION=${DURATION:-5}
SIZES=${SIZES:-"1 5 10 20"}
PARALLELISM=${PARALLELISM:-4}
VERIFY=${VERIFY:-12}
VERIFY_EXTRA=${VERIFY_EXTRA:-"3"}
DATA=Benchmarks/data
RESULTS=$DATA/services-results.json
FIXTURES=$ROOT/Benchmarks/services

# --- 1. build and tools -----------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    log "wrk missing; apt-get install wrk"
    apt_install wrk || { echo "services.sh: wrk is needed (apt-get install wrk)" >&2; exit 1; }
fi
KUMO=${KUMO:-$(release_binary kumo)}
[[ -x "$KUMO" ]] || { echo "services.sh: missing executable: $KUMO" >&2; exit 1; }
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

# write_project DIR: the replica in DIR/web and a manifest from stdin.
write_project() {
    mkdir -p "$1/web"
    cp "$FIXTURES/server.py" "$1/web/server.py"
    cat >"$1/kumo.yaml"
}

# services PREFIX N: N manifest entries PREFIX0..PREFIX{N-1}, one replica each.
services() {
    local i
    for ((i = 0; i < $2; i++)); do
        printf '  %s%d:\n    command: ["python3", "server.py", "${port}"]\n    code: web\n    healthcheck: { tcp: true, interval: 2s }\n' "$1" "$i"
    done
}

# cpu_seconds PID: user + system CPU seconds of PID so far.
cpu_seconds() {
    python3 -c 'import os, sys
f = open("/proc/%s/stat" % sys.argv[1]).read().rsplit(")", 1)[1].split()
print((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"))' "$1"
}

# --- 2. the front port ------------------------------------------------------------------------
PROXY=$TMP/proxy
FRONT_PORT=$(free_port)
write_project "$PROXY" <<EOF
version: 1
project: bench
services:
  web:
    command: ["python3", "server.py", "\${port}"]
    code: web
    port: $FRONT_PORT
    replicas: 1
    resources: { cpu: 2, memory: 256 }
    healthcheck: { tcp: true, interval: 2s }
EOF
log "starting a runtime for $PROXY and applying service web (1 replica, front port $FRONT_PORT)"
start_runtime "$PROXY"
apply "$PROXY" >"$TMP/proxy-apply.txt" || { cat "$TMP/proxy-apply.txt" >&2; exit 1; }
DAEMON=$(json_get "$PROXY/.kumo/runtime.json" pid)
"$KUMO" runtime status -C "$PROXY" --json >"$TMP/proxy-status.json"
REPLICA_PORT=$(json_get "$TMP/proxy-status.json" resources 0 detail ports 0)
DIRECT=http://127.0.0.1:$REPLICA_PORT/
FRONT=http://127.0.0.1:$FRONT_PORT/

# bench NAME URL CONNECTIONS: one wrk run into NAME.json, with the daemon's CPU seconds meanwhile.
bench() {
    local before after
    before=$(cpu_seconds "$DAEMON")
    wrk -t1 -c"$3" -d"${DURATION}s" -s "$FIXTURES/report.lua" "$2" | tail -1 >"$TMP/$1.json"
    after=$(cpu_seconds "$DAEMON")
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["daemon_cpu_seconds"] = float(sys.argv[3]) - float(sys.argv[2])
json.dump(r, open(sys.argv[1], "w"))' "$TMP/$1.json" "$before" "$after"
}
wrk -t1 -c"$CONNECTIONS" -d1s "$DIRECT" >/dev/null
wrk -t1 -c"$CONNECTIONS" -d1s "$FRONT" >/dev/null
for ((round = 1; round <= ROUNDS; round++)); do
    log "front port round $round/$ROUNDS: wrk $CONNECTIONS connections, then 1, for ${DURATION} s each: direct, front"
    bench "direct-$round" "$DIRECT" "$CONNECTIONS"
    bench "front-$round" "$FRONT" "$CONNECTIONS"
    bench "direct1-$round" "$DIRECT" 1
    bench "front1-$round" "$FRONT" 1
done
"$KUMO" runtime status -C "$PROXY" --json >"$TMP/proxy-status-after.json"
"$KUMO" runtime stop -C "$PROXY" >/dev/null

# --- 3. S(m) ----------------------------------------------------------------------------------
calibration services services

# --- 4. report --------------------------------------------------------------------------------
python3 - "$TMP" "$RESULTS" "$CHECK" "$KUMO" "$SIZES" "$ROUNDS" "$VERIFY_EXTRA" "$CONNECTIONS" "$DURATION" "$PARALLELISM" <<'PY'
import datetime, json, os, platform, statistics, sys
tmp, results, check, kumo, sizes, rounds, extra, connections, duration, parallelism = sys.argv[1:]
rounds = range(1, int(rounds) + 1)
load = lambda name: json.load(open(os.path.join(tmp, name + ".json")))
median = statistics.median
mark = lambda ok: "PASS" if ok else "FAIL"

def series(name):
    runs = [load("%s-%d" % (name, r)) for r in rounds]
    return {"rps": median(r["rps"] for r in runs), "p50_ms": median(r["p50_ms"] for r in runs),
            "p99_ms": median(r["p99_ms"] for r in runs), "errors": sum(r["errors"] + r["non2xx"] for r in runs),
            "requests": sum(r["requests"] for r in runs),
            "daemonCpuUsPerRequest": sum(r["daemon_cpu_seconds"] for r in runs) / max(1, sum(r["requests"] for r in runs)) * 1e6,
            "rounds": runs}
proxy = {name: series(name) for name in ("direct", "front", "direct1", "front1")}
share = proxy["front"]["rps"] / proxy["direct"]["rps"]
added_p99 = proxy["front"]["p99_ms"] - proxy["direct"]["p99_ms"]
added_p99_one = proxy["front1"]["p99_ms"] - proxy["direct1"]["p99_ms"]
clean = all(proxy[n]["errors"] == 0 for n in proxy)
proxy_ok = share >= 0.70 and clean
p99_ok = added_p99 < 1.0 and clean

calibration = load("calibration")
fit = calibration.get("services", {})
applies = {m: load("cal-%s" % m)["seconds"] for m in sizes.split()}
def verification(name):
    plan = load(name + "-plan")
    measured = load(name)["seconds"]
    estimate = plan["estimate"]["seconds"]
    return {"services": sum(w["services"] for w in plan["estimate"]["waves"]), "estimateSeconds": estimate,
            "measuredSeconds": measured, "differencePercent": (estimate - measured) / measured * 100,
            "coefficients": plan["estimate"]["coefficients"]["services"]}
verify = verification("verify")
extras = [verification("verify-extra-%s" % m) for m in extra.split()]
cal_ok = verify["coefficients"]["source"] == "calibrated" and abs(verify["differencePercent"]) <= 25

def row(label, value, verdict=""):
    print("  %-52s %-34s %s" % (label, value, verdict))
print()
print("Kumo services benchmark (%s, %d cores, %s)" % (platform.machine(), os.cpu_count(), datetime.date.today()))
print("Front port (wrk -t1, GET /, %s s per round, median of %d rounds; replica: Python ThreadingHTTPServer)" % (duration, len(rounds)))
row("direct to the replica, %s connections" % connections, "%.0f req/s, p50 %.3f ms, p99 %.3f ms" % (proxy["direct"]["rps"], proxy["direct"]["p50_ms"], proxy["direct"]["p99_ms"]), "reference")
row("through the front port, %s connections" % connections, "%.0f req/s, p50 %.3f ms, p99 %.3f ms" % (proxy["front"]["rps"], proxy["front"]["p50_ms"], proxy["front"]["p99_ms"]))
row("  throughput, front / direct", "%.1f%%" % (share * 100), "%s (target >= 70%%)" % mark(proxy_ok))
row("  added p99 latency", "%+.3f ms" % added_p99, "%s (target < 1 ms)" % mark(p99_ok))
row("  daemon CPU per proxied request", "%.1f us" % proxy["front"]["daemonCpuUsPerRequest"], "info")
row("one connection: direct", "%.0f req/s, p50 %.3f ms, p99 %.3f ms" % (proxy["direct1"]["rps"], proxy["direct1"]["p50_ms"], proxy["direct1"]["p99_ms"]), "info")
row("one connection: front port", "%.0f req/s, p50 %.3f ms, p99 %.3f ms" % (proxy["front1"]["rps"], proxy["front1"]["p50_ms"], proxy["front1"]["p99_ms"]), "info")
row("  added p50 / p99, one connection", "%+.3f ms / %+.3f ms" % (proxy["front1"]["p50_ms"] - proxy["direct1"]["p50_ms"], added_p99_one), "info")
if not clean:
    print("  errors: " + ", ".join("%s %d" % (n, proxy[n]["errors"]) for n in proxy))
print("Rollout of m services (parallelism %s): S(m) = S_init + S_deploy x ceil(m/p)" % parallelism)
for m, seconds in applies.items():
    row("  apply %s services" % m, "%.3f s" % seconds, "info")
if "init_ms" in fit:
    row("  kumo calibrate: S_init, S_deploy", "%.0f ms, %.1f ms (%d samples, RMS %.0f ms)" % (fit["init_ms"], fit["each_ms"], fit["samples"], fit["rmse_ms"]), "info")
else:
    row("  kumo calibrate", "no fit: %s" % json.dumps(fit))
row("  plan estimate vs apply, %d fresh services" % verify["services"], "%.2f s vs %.2f s (%+.1f%%)" % (verify["estimateSeconds"], verify["measuredSeconds"], verify["differencePercent"]), "%s (target within 25%%)" % mark(cal_ok))
for e in extras:
    row("  plan estimate vs apply, %d fresh services" % e["services"], "%.2f s vs %.2f s (%+.1f%%)" % (e["estimateSeconds"], e["measuredSeconds"], e["differencePercent"]), "info")

json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "machine": platform.machine(), "cores": os.cpu_count(),
    "kumo": kumo, "frontPort": {"direct": proxy["direct"], "front": proxy["front"], "directOneConnection": proxy["direct1"],
                                "frontOneConnection": proxy["front1"], "throughputShare": share, "addedP99Ms": added_p99,
                                "addedP99MsOneConnection": added_p99_one, "targets": {"throughputShare": 0.70, "addedP99Ms": 1.0},
                                "pass": proxy_ok and p99_ok, "statusAfter": load("proxy-status-after")},
    "calibration": {"fit": fit, "applies": applies, "verify": verify, "verifyExtra": extras, "target": 25, "pass": cal_ok},
}, open(results, "w"), indent=2)
print("\nResults: %s" % results)
sys.exit(1 if check == "1" and not (proxy_ok and p99_ok and cal_ok) else 0)
PY
