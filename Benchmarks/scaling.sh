#!/usr/bin/env bash
# The live autoscaler's cost on the request path: p50/p99 latency through a service's front port
# and the gateway's http trigger, with and without scaling policies attached, in one run.
#
#   Benchmarks/scaling.sh
#
# 1. builds release `kumo` and `kumo-bench` into .build-release,
# 2. a project with a service `web` (Benchmarks/services/server.py, one replica) and a python3
#    function `echo` (Benchmarks/runtime/app.py, one warm worker) behind an http trigger; the
#    runtime evaluates policies every second (--scaling-interval 1s, 15x the default rate),
# 3. $ROUNDS alternating rounds: apply without policies, measure; apply with a targetTracking
#    policy on each (minReplicas = maxReplicas = 1, so the count stays and only the reading and
#    deciding cost remains), measure. Each measurement: `kumo-bench load` with $REQUESTS
#    sequential requests on one keep-alive connection after $WARMUP uncounted,
# 4. prints the medians of p50 and p99 per target and setting, and their differences.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-3000}
WARMUP=${WARMUP:-300}

parse_check_flag "$@"  # --help; no targets to check
KUMO=$(release_binary kumo)
KUMO=$(cd "$(dirname "$KUMO")" && pwd)/kumo
bench=$(release_binary kumo-bench)
work=$(mktemp -d /tmp/kumo-scaling-bench-XXXXXX)
trap 'stop_runtimes; rm -rf "$work"' EXIT
mkdir -p "$work/web" "$work/echo"
cp Benchmarks/services/server.py "$work/web/"
cp Benchmarks/runtime/app.py "$work/echo/"
port=$(free_port)
write_manifest() {
  cat > "$work/kumo.yaml" <<YAML
version: 1
project: scaling-bench
services:
  web: { command: ["python3", "server.py", "\${port}"], code: web, port: $port, replicas: 1, resources: { cpu: 2 }, healthcheck: { tcp: true } }
functions:
  echo: { runtime: python3, handler: app.echo, code: echo, minInstances: 1, events: [ { http: { method: POST, path: /echo } } ] }
YAML
  if [[ $1 == with ]]; then cat >> "$work/kumo.yaml" <<YAML
scaling:
  web-load: { target: service.web, minReplicas: 1, maxReplicas: 1, targetTracking: { metric: requestsPerSecond, target: 100 } }
  echo-load: { target: function.echo, minReplicas: 1, maxReplicas: 1, targetTracking: { metric: concurrency, target: 0.7 } }
YAML
  fi
  apply "$work" >/dev/null
}
start_runtime "$work" "$PATH" --scaling-interval 1s 2>/dev/null
write_manifest without
gateway=$(json_get "$work/.kumo/runtime.json" gateway_port)
results="$work/results.jsonl"
for round in $(seq "$ROUNDS"); do
  for setting in without with; do
    write_manifest "$setting"
    sleep 2  # a few evaluations before measuring
    for target in front gateway; do
      if [[ $target == front ]]; then url="http://127.0.0.1:$port/"; else url="http://127.0.0.1:$gateway/echo"; fi
      line=$("$bench" load "$url" --requests "$REQUESTS" --warmup-requests "$WARMUP" $([[ $target == gateway ]] && echo --method POST --body '{}' || echo --method GET))
      echo "{\"setting\": \"$setting\", \"target\": \"$target\", \"result\": $line}" >> "$results"
      log "round $round, $setting policies, $target: $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("p50 %.3f ms, p99 %.3f ms, %d errors" % (r["p50_ms"], r["p99_ms"], r["errors"]))' "$line")"
    done
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for target in ("front", "gateway"):
    m = {}
    for setting in ("without", "with"):
        sel = [r["result"] for r in rows if r["target"] == target and r["setting"] == setting]
        m[setting] = (statistics.median(r["p50_ms"] for r in sel), statistics.median(r["p99_ms"] for r in sel))
    (a50, a99), (b50, b99) = m["without"], m["with"]
    name = "front port" if target == "front" else "gateway http trigger"
    print(f"{name}: without policies p50 {a50:.3f} ms p99 {a99:.3f} ms; with p50 {b50:.3f} ms p99 {b99:.3f} ms "
          f"(p50 {b50 / a50:.2f}x, p99 {b99 / a99:.2f}x)")
PY
