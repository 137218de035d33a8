#!/usr/bin/env bash
# Kumo plan benchmark: whole-process `kumo plan` against whole-process `kumo validate` on the
# same manifest, measured in the same run, and the time to write a large state.
#
#   Benchmarks/plan.sh [--check]
#
# 1. builds release `kumo` into .build-release (never .build),
# 2. generates Benchmarks/data/m10k.yaml (10,000 functions, 2,000 rules) and an edited copy,
# 3. builds a state holding 9,000 of the functions, 1,000 of them edited (specs taken from saved
#    plans of the two manifests, so hashes are Kumo's own), plus every rule and service,
# 4. times `kumo state push` of that state into a fresh file (one transaction), `kumo validate`
#    and `kumo plan` on m10k.yaml against it (median of $RUNS runs after a warm-up),
# 5. prints a report and writes Benchmarks/plan-results.json.
#
# Target: plan time / validate time <= 3. --check: exit 1 if it is missed.
# Environment: KUMO=path uses a prebuilt binary; RUNS (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
parse_check_flag "$@"

RESULTS=Benchmarks/plan-results.json

KUMO=${KUMO:-$(release_binary kumo)}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ensure_hyperfine
plan_benchmark_state "$KUMO" "$TMP"

log "timing kumo state push (fresh state file each run)"
time_cmd "$TMP" push --prepare "rm -f $TMP/bench.db $TMP/bench.db-wal $TMP/bench.db-shm" \
    "$KUMO" state push "$TMP/state.json" --state "$TMP/bench.db"
rm -f "$TMP/bench.db" "$TMP/bench.db-wal" "$TMP/bench.db-shm"
"$KUMO" state push "$TMP/state.json" --state "$TMP/bench.db" >/dev/null
RESOURCES=$("$KUMO" state list --state "$TMP/bench.db" | wc -l)

log "timing kumo validate $BASE"
time_cmd "$TMP" validate "$KUMO" validate "$BASE"
log "timing kumo plan $BASE against the state"
time_cmd "$TMP" plan "$KUMO" plan "$BASE" --state "$TMP/bench.db" --no-color
"$KUMO" plan "$BASE" --state "$TMP/bench.db" --json >"$TMP/plan-output.json"

python3 - "$TMP" "$RESULTS" "$CHECK" "$RESOURCES" "$BASE" <<'PY'
import datetime, json, os, sys
tmp, results, check, resources, base = sys.argv[1:]
load = lambda n: json.load(open(os.path.join(tmp, n + ".json")))
push, validate, plan = load("push"), load("validate"), load("plan")
totals = json.load(open(os.path.join(tmp, "plan-output.json")))["totals"]
ratio = plan["median"] / validate["median"]
ok = ratio <= 3.0
print()
print("Kumo plan benchmark  (%s: %.2f MB; wall time = median of %d runs, %s)" % (base, os.path.getsize(base) / 1e6, len(plan["runs"]), plan["tool"]))
print("  state: %s resources; plan: %s" % (resources, ", ".join("%s %d" % kv for kv in totals.items())))
print("  %-40s %8.3f s" % ("kumo state push (one transaction)", push["median"]))
print("  %-40s %8.3f s" % ("kumo validate", validate["median"]))
print("  %-40s %8.3f s" % ("kumo plan", plan["median"]))
print("  %-40s %8.2f    target <= 3.0  %s" % ("ratio plan/validate", ratio, "PASS" if ok else "FAIL"))
print()
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "stateResources": int(resources), "planTotals": totals,
       "pushSeconds": push["median"], "validateSeconds": validate["median"], "planSeconds": plan["median"],
       "ratio": {"value": ratio, "target": 3.0, "pass": ok}, "tool": plan["tool"]}
json.dump(out, open(results, "w"), indent=2)
if check == "1" and not ok:
    sys.exit(1)
PY
