#!/usr/bin/env bash
# Kumo rollout-estimate benchmark (issue 16): how close the plan's estimate comes to the apply.
#
#   Benchmarks/estimates.sh [--quick]
#
# In a fresh project with its own runtime (release build; python3 functions and replicas of
# Benchmarks/services/server.py with a tcp health check):
# 1. a training set: functions 3/30/300 with minInstances 0, 1/2/3/20/50/150 with 1, 1/5/40 with 2, 1 with 3;
#    services 1/2/4/7 with 1 replica, 1/2/4/6 with 2 and 8 with 3; rolling updates of 2 and 4 replicas; each
#    applied and destroyed at --parallelism 10 and 4; then `kumo calibrate`;
# 2. the matrix: functions 1/10/100/1,000 with minInstances 0 and 1, services 1/5/10 with 1
#    and 3 replicas, a rolling update of 3 replicas, and a destroy of each, at the default
#    parallelism, each cell applied --repeat times (default 3; the median by actual time is
#    reported). Each cell's calibrated estimate and actual time come from the apply's journal
#    (`kumo calibrate --report`), its built-in estimate from `kumo plan --uncalibrated` against
#    the same state just before.
# Targets: calibrated median |error| ≤ 10 %, worst ≤ 30 %; built-in within 50 %.
# --quick leaves out the 1,000-function cells; REPEAT=N applies each cell N times (default 3).
# Results: Benchmarks/data/estimates-results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source Benchmarks/lib.sh
QUICK=()
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=(--quick) ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
        *) echo "estimates.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
KUMO=${KUMO:-$(release_binary kumo)}
DATA=$ROOT/Benchmarks/data
mkdir -p "$DATA"
TMP=$(mktemp -d)
RUNTIMES=()
trap 'stop_runtimes; [[ -n "${KEEP:-}" ]] && echo "kept $TMP" >&2 || rm -rf "$TMP"' EXIT
PROJECT=$TMP/project
mkdir -p "$PROJECT"
printf 'version: 1\nproject: estimates\n' >"$PROJECT/kumo.yaml"
start_runtime "$PROJECT"
python3 Benchmarks/estimates.py --kumo "$KUMO" --dir "$PROJECT" --results "$DATA/estimates-results.json" \
    --server Benchmarks/services/server.py --repeat "${REPEAT:-3}" "${QUICK[@]}"
