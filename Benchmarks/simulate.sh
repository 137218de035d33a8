#!/usr/bin/env bash
# Kumo simulate benchmark: whole-process `kumo simulate --json` on a one-week trace at one-second
# resolution (604,800 samples) against only reading and parsing the same trace, in the same run.
#
#   Benchmarks/simulate.sh [--check]
#
# 1. builds release `kumo` and `kumo-bench` into .build-release (never .build),
# 2. generates Benchmarks/data/week.csv: a daily wave of requests per second with noise and
#    bursts (seeded, so every run replays the same load),
# 3. times `kumo simulate --policy scaling.api --trace week.csv --json >/dev/null` (a target-
#    tracking policy with the HPA's default behavior, every 15 s) and `kumo-bench trace
#    week.csv` (reads the file and parses it with the same parser, keeping nothing): median of
#    $RUNS runs after a warm-up,
# 4. prints both, their ratio, and writes Benchmarks/simulate-results.json.
#
# Targets: simulate < 1 s, simulate / parse-only <= 2. --check: exit 1 if one is missed.
# Environment: KUMO=path and KUMO_BENCH=path use prebuilt binaries; RUNS (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
parse_check_flag "$@"

DATA=Benchmarks/data
TRACE=$DATA/week.csv
RESULTS=Benchmarks/simulate-results.json
KUMO=${KUMO:-$(release_binary kumo)}
KUMO_BENCH=${KUMO_BENCH:-$(release_binary kumo-bench)}

mkdir -p "$DATA"
if [[ ! -f "$TRACE" || "$0" -nt "$TRACE" ]]; then
    log "generating $TRACE (one week, one sample a second)"
    python3 - "$TRACE" <<'PY'
import math, random, sys
random.seed(7)
with open(sys.argv[1], "w") as out:
    out.write("time,load\n")
    burst = 0
    for t in range(7 * 86_400):
        day = 0.5 - 0.5 * math.cos(2 * math.pi * (t % 86_400) / 86_400)
        if burst == 0 and random.random() < 1 / 7200:
            burst = random.randint(60, 900)
        burst = max(0, burst - 1)
        load = 40 + 400 * day + (300 if burst else 0) + random.gauss(0, 15)
        out.write(f"{t},{max(0.0, load):.2f}\n")
PY
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/kumo.yaml" <<'YAML'
version: 1
project: bench
services:
  api:
    command: ["./api"]
    port: 8081
    resources: { cpu: 0.5, memory: 512 }
    healthcheck: { http: /healthz }
scaling:
  api:
    target: service.api
    minReplicas: 1
    maxReplicas: 40
    targetTracking: { metric: requestsPerSecond, target: 25 }
YAML
SAMPLES=$(($(wc -l <"$TRACE") - 1))
log "trace: $SAMPLES samples, $(du -h "$TRACE" | cut -f1)"
"$KUMO" simulate "$TMP" --policy scaling.api --trace "$TRACE" --json >"$TMP/out.json"
"$KUMO_BENCH" trace "$TRACE" >"$TMP/parse.json"
ensure_hyperfine
time_cmd "$TMP" simulate "$KUMO" simulate "$TMP" --policy scaling.api --trace "$TRACE" --json
time_cmd "$TMP" parse "$KUMO_BENCH" trace "$TRACE"

python3 - "$TMP" "$RESULTS" "$CHECK" "$SAMPLES" <<'PY'
import json, sys
tmp, results, check, samples = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
simulate = json.load(open(f"{tmp}/simulate.json"))["median"]
parse = json.load(open(f"{tmp}/parse.json"))["median"]
out = json.load(open(f"{tmp}/out.json"))
ratio = simulate / parse
report = {"samples": samples, "steps": len(out["steps"]), "simulate_seconds": simulate,
          "parse_seconds": parse, "ratio": ratio, "summary": out["summary"]}
json.dump(report, open(results, "w"), indent=2)
print(f"kumo simulate --json ({samples} samples, {len(out['steps'])} steps): {simulate:.3f} s (target < 1 s)")
print(f"kumo-bench trace (read + parse only):            {parse:.3f} s")
print(f"ratio simulate / parse-only:                      {ratio:.2f} (target <= 2)")
print(f"summary: {json.dumps(out['summary'])}")
if check and (simulate >= 1 or ratio > 2):
    sys.exit(1)
PY
