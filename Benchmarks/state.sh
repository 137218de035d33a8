#!/usr/bin/env bash
# State backend benchmark: `kumo plan` of the 10,000-function manifest against the same
# 11,010-resource state in SQLite and in PostgreSQL on loopback, measured in the same run, and
# `kumo state push` of that state into each (one transaction).
#
#   Benchmarks/state.sh [--check]
#
# 1. builds release `kumo` into .build-release (never .build),
# 2. builds plan.sh's state (Benchmarks/lib.sh plan_benchmark_state),
# 3. starts a throw-away PostgreSQL server (scripts/postgres, in a temporary directory; stopped
#    at the end) unless KUMO_BENCH_POSTGRES_URL names one (with its password in PGPASSWORD),
# 4. times `kumo state push` into a fresh SQLite file and a fresh PostgreSQL schema, then
#    `kumo plan` against each (median of $RUNS runs after a warm-up),
# 5. prints a report and writes Benchmarks/state-results.json.
#
# Target: PostgreSQL plan time / SQLite plan time <= 1.5. --check: exit 1 if it is missed.
# Environment: KUMO=path uses a prebuilt binary; RUNS (default 5). The password is passed in
# PGPASSWORD, never on a command line, so nothing printed here shows it.
set -euo pipefail

cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
parse_check_flag "$@"

RESULTS=Benchmarks/state-results.json
KUMO=${KUMO:-$(release_binary kumo)}

TMP=$(mktemp -d)
chmod 755 "$TMP"
PG_DIR=""
cleanup() {
    [[ -z "$PG_DIR" ]] || scripts/postgres stop "$PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
ensure_hyperfine
plan_benchmark_state "$KUMO" "$TMP"

if [[ -n "${KUMO_BENCH_POSTGRES_URL:-}" ]]; then
    SERVER=$KUMO_BENCH_POSTGRES_URL
else
    log "starting a PostgreSQL server in $TMP/pg"
    PG_DIR=$TMP/pg
    scripts/postgres start "$PG_DIR" >/dev/null
    PGPASSWORD=$(cat "$PG_DIR/password")
    export PGPASSWORD
    SERVER="postgres://kumo@127.0.0.1:$(cat "$PG_DIR/port")/kumo?sslmode=disable"
fi
PG="$SERVER$([[ $SERVER == *\?* ]] && echo '&' || echo '?')schema=kumo_bench"
drop_schema="psql -q -X -d '${SERVER%%\?*}' -c 'DROP SCHEMA IF EXISTS kumo_bench CASCADE' >/dev/null 2>&1"

log "timing kumo state push into SQLite (fresh file each run)"
time_cmd "$TMP" push-sqlite --prepare "rm -f $TMP/bench.db $TMP/bench.db-wal $TMP/bench.db-shm" \
    "$KUMO" state push "$TMP/state.json" --state "$TMP/bench.db"
log "timing kumo state push into PostgreSQL (fresh schema each run)"
time_cmd "$TMP" push-postgres --prepare "$drop_schema" "$KUMO" state push "$TMP/state.json" --state "$PG"

rm -f "$TMP/bench.db" "$TMP/bench.db-wal" "$TMP/bench.db-shm"
eval "$drop_schema"
"$KUMO" state push "$TMP/state.json" --state "$TMP/bench.db" >/dev/null
"$KUMO" state push "$TMP/state.json" --state "$PG" >/dev/null
RESOURCES=$("$KUMO" state list --state "$TMP/bench.db" | wc -l)
PG_RESOURCES=$("$KUMO" state list --state "$PG" | wc -l)
[[ "$RESOURCES" == "$PG_RESOURCES" ]] || { echo "state.sh: SQLite holds $RESOURCES resources, PostgreSQL $PG_RESOURCES" >&2; exit 1; }

log "timing kumo plan $BASE against SQLite and PostgreSQL"
time_cmd "$TMP" plan-sqlite "$KUMO" plan "$BASE" --state "$TMP/bench.db" --no-color
time_cmd "$TMP" plan-postgres "$KUMO" plan "$BASE" --state "$PG" --no-color
"$KUMO" plan "$BASE" --state "$TMP/bench.db" --json >"$TMP/plan-sqlite.out"
"$KUMO" plan "$BASE" --state "$PG" --json >"$TMP/plan-postgres.out"
cmp -s "$TMP/plan-sqlite.out" "$TMP/plan-postgres.out" || { echo "state.sh: the two backends' plans differ" >&2; exit 1; }

python3 - "$TMP" "$RESULTS" "$CHECK" "$RESOURCES" "$BASE" <<'PY'
import datetime, json, os, sys
tmp, results, check, resources, base = sys.argv[1:]
load = lambda n: json.load(open(os.path.join(tmp, n + ".json")))
push_s, push_p, plan_s, plan_p = load("push-sqlite"), load("push-postgres"), load("plan-sqlite"), load("plan-postgres")
totals = json.load(open(os.path.join(tmp, "plan-sqlite.out")))["totals"]
ratio = plan_p["median"] / plan_s["median"]
ok = ratio <= 1.5
print()
print("Kumo state backend benchmark  (%s; wall time = median of %d runs, %s; PostgreSQL on loopback)" % (base, len(plan_s["runs"]), plan_s["tool"]))
print("  state: %s resources; plan: %s" % (resources, ", ".join("%s %d" % kv for kv in totals.items())))
print("  %-44s %8.3f s" % ("kumo state push, SQLite (one transaction)", push_s["median"]))
print("  %-44s %8.3f s" % ("kumo state push, PostgreSQL (one transaction)", push_p["median"]))
print("  %-44s %8.3f s" % ("kumo plan, SQLite", plan_s["median"]))
print("  %-44s %8.3f s" % ("kumo plan, PostgreSQL", plan_p["median"]))
print("  %-44s %8.2f    target <= 1.5  %s" % ("ratio plan PostgreSQL/SQLite", ratio, "PASS" if ok else "FAIL"))
print()
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "stateResources": int(resources), "planTotals": totals,
       "pushSQLiteSeconds": push_s["median"], "pushPostgresSeconds": push_p["median"],
       "planSQLiteSeconds": plan_s["median"], "planPostgresSeconds": plan_p["median"],
       "ratio": {"value": ratio, "target": 1.5, "pass": ok}, "tool": plan_s["tool"]}
json.dump(out, open(results, "w"), indent=2)
if check == "1" and not ok:
    sys.exit(1)
PY
