#!/usr/bin/env bash
# Kumo render benchmark: whole-process `kumo render --target sam` against whole-process
# `kumo validate` of the same manifest, measured in the same run.
#
#   Benchmarks/render.sh [--check]
#
# 1. builds release `kumo` into .build-release (never .build),
# 2. generates Benchmarks/data/m10k-render.yaml (10,000 functions, 2,000 rules, 10 services with
#    images: generate.py --images),
# 3. times `kumo validate` and `kumo render --target sam -o FILE` on it (median of $RUNS runs
#    after a warm-up), and once `kumo render --target kubernetes -o DIR` for reference,
# 4. prints a report and writes Benchmarks/render-results.json.
#
# Target: render time / validate time <= 2. --check: exit 1 if it is missed.
# Environment: KUMO=path uses a prebuilt binary; RUNS (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
parse_check_flag "$@"

DATA=Benchmarks/data
BASE=$DATA/m10k-render.yaml
RESULTS=Benchmarks/render-results.json

KUMO=${KUMO:-$(release_binary kumo)}

generated_manifest "$BASE" 10000 --seed 42 --images

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ensure_hyperfine

log "timing kumo validate $BASE"
time_cmd "$TMP" validate "$KUMO" validate "$BASE"
log "timing kumo render --target sam $BASE"
time_cmd "$TMP" sam "$KUMO" render --target sam "$BASE" -o "$TMP/template.yaml" --no-color
log "timing kumo render --target kubernetes $BASE"
RUNS=1 time_cmd "$TMP" kubernetes "$KUMO" render --target kubernetes "$BASE" -o "$TMP/k8s" --no-color

python3 - "$TMP" "$RESULTS" "$CHECK" "$BASE" <<'PY'
import datetime, json, os, sys
tmp, results, check, base = sys.argv[1:]
load = lambda n: json.load(open(os.path.join(tmp, n + ".json")))
validate, sam, k8s = load("validate"), load("sam"), load("kubernetes")
size = os.path.getsize(os.path.join(tmp, "template.yaml"))
ratio = sam["median"] / validate["median"]
ok = ratio <= 2.0
print()
print("Kumo render benchmark  (%s: %.2f MB; wall time = median of %d runs, %s)" % (base, os.path.getsize(base) / 1e6, len(sam["runs"]), sam["tool"]))
print("  %-44s %8.3f s" % ("kumo validate", validate["median"]))
print("  %-44s %8.3f s   (template %.1f MB)" % ("kumo render --target sam", sam["median"], size / 1e6))
print("  %-44s %8.3f s   (one run, for reference)" % ("kumo render --target kubernetes", k8s["median"]))
print("  %-44s %8.2f     target <= 2.0  %s" % ("ratio render sam / validate", ratio, "PASS" if ok else "FAIL"))
print()
out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "validateSeconds": validate["median"], "renderSamSeconds": sam["median"], "renderKubernetesSeconds": k8s["median"],
       "templateBytes": size, "ratio": {"value": ratio, "target": 2.0, "pass": ok}, "tool": sam["tool"]}
json.dump(out, open(results, "w"), indent=2)
if check == "1" and not ok:
    sys.exit(1)
PY
