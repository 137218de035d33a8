#!/usr/bin/env bash
# Kumo benchmarks: throughput of `kumo validate` against the raw libyaml scan, and peak RSS.
#
#   Benchmarks/run.sh [--check]
#
# 1. builds release binaries into .build-release (never .build),
# 2. generates Benchmarks/data/m10k.yaml (~2.5 MB) and m100k.yaml (~25 MB) (gitignored),
# 3. times whole-process wall time of `kumo-bench scan` (reference) and `kumo validate` on the
#    25 MB file, 5 runs each after 1 warm-up, median (hyperfine if available, else Python),
# 4. measures peak RSS of `kumo validate` on the 2.5 MB file (/usr/bin/time -v, else Python),
# 5. prints a report and writes Benchmarks/results.json.
#
# Targets: kumo MB/s / scan MB/s >= 0.5; peak RSS (2.5 MB file) < 150 MB. MB = 10^6 bytes.
# --check: exit 1 if a target is missed (default: report only).
# Environment: KUMO=path, KUMO_BENCH=path use prebuilt binaries and skip building them;
#              RUNS (default 5); REGEN=1 forces regenerating the data files.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
CHECK=0
for arg in "$@"; do
    case "$arg" in
        --check) CHECK=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

RUNS=${RUNS:-5}
SCRATCH=.build-release
DATA=Benchmarks/data
SMALL=$DATA/m10k.yaml
LARGE=$DATA/m100k.yaml
RESULTS=Benchmarks/results.json

source Benchmarks/lib.sh  # log, apt_install, ensure_hyperfine, time_cmd

# --- 1. build ---------------------------------------------------------------------------------
KUMO_BENCH=${KUMO_BENCH:-$(release_binary kumo-bench)}
KUMO=${KUMO:-$(release_binary kumo)}
for bin in "$KUMO_BENCH" "$KUMO"; do
    [[ -x "$bin" ]] || { echo "run.sh: missing executable: $bin" >&2; exit 1; }
done

# --- 2. data ----------------------------------------------------------------------------------
mkdir -p "$DATA"
gen() {  # gen N FILE: regenerate when missing, older than the generator, or REGEN=1
    if [[ "${REGEN:-0}" == 1 || ! -f "$2" || Benchmarks/generate.py -nt "$2" ]]; then
        log "generating $2 (N=$1)"
        python3 Benchmarks/generate.py "$1" "$2" --seed 42
    fi
}
gen 10000 "$SMALL"
gen 100000 "$LARGE"

# Both inputs must be valid, or the timings measure error paths.
for f in "$SMALL" "$LARGE"; do
    if ! "$KUMO" validate "$f" >/dev/null 2>/tmp/kumo-bench-validate.$$; then
        echo "run.sh: kumo validate $f failed; first diagnostics:" >&2
        head -20 /tmp/kumo-bench-validate.$$ >&2
        rm -f /tmp/kumo-bench-validate.$$
        exit 1
    fi
done
rm -f /tmp/kumo-bench-validate.$$

# --- 3. tools ---------------------------------------------------------------------------------
ensure_hyperfine
if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time missing; trying apt-get install time"
    apt_install time || log "/usr/bin/time unavailable; using Python getrusage"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- 4. timing --------------------------------------------------------------------------------

log "timing kumo-bench scan $LARGE"
time_cmd "$TMP" scan "$KUMO_BENCH" scan "$LARGE"
"$KUMO_BENCH" scan "$LARGE" >"$TMP/scan-inproc.json"
log "timing kumo validate $LARGE"
time_cmd "$TMP" kumo "$KUMO" validate "$LARGE"

# --- 5. memory --------------------------------------------------------------------------------
# rss_kb FILE: peak RSS in KiB of `kumo validate FILE`
rss_kb() {
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -v "$KUMO" validate "$1" 2>&1 >/dev/null \
            | awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }'
    else
        python3 - "$KUMO" "$1" <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "validate", sys.argv[2]], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
PY
    fi
}
log "measuring peak RSS of kumo validate"
RSS_SMALL=$(rss_kb "$SMALL")
RSS_LARGE=$(rss_kb "$LARGE")
RSS_TOOL=$([[ -x /usr/bin/time ]] && echo "/usr/bin/time -v" || echo "getrusage")

# --- 6. report --------------------------------------------------------------------------------
python3 - "$TMP" "$SMALL" "$LARGE" "$RSS_SMALL" "$RSS_LARGE" "$RSS_TOOL" "$RESULTS" "$CHECK" \
    "$KUMO" "$KUMO_BENCH" <<'PY'
import datetime, json, os, platform, sys
tmp, small, large, rss_small, rss_large, rss_tool, results, check, kumo, bench = sys.argv[1:]
scan = json.load(open(os.path.join(tmp, "scan.json")))
prod = json.load(open(os.path.join(tmp, "kumo.json")))
inproc = json.load(open(os.path.join(tmp, "scan-inproc.json")))
size_large, size_small = os.path.getsize(large), os.path.getsize(small)
mb = size_large / 1e6
scan_mbs, kumo_mbs = mb / scan["median"], mb / prod["median"]
ratio = kumo_mbs / scan_mbs
rss_mb = int(rss_small) * 1024 / 1e6
rss_large_mb = int(rss_large) * 1024 / 1e6
RATIO_MIN, RSS_MAX = 0.5, 150.0
ok_ratio, ok_rss = ratio >= RATIO_MIN, rss_mb < RSS_MAX
mark = lambda ok: "PASS" if ok else "FAIL"

print()
print("Kumo benchmark  (MB = 10^6 bytes; wall time = median of %d runs, %s)" % (len(prod["runs"]), prod["tool"]))
print("  large: %s  %.2f MB   small: %s  %.2f MB" % (large, mb, small, size_small / 1e6))
print()
print("  %-34s %10s %10s %8s" % ("measurement", "value", "target", ""))
print("  %-34s %8.3f s %10s %8s" % ("kumo-bench scan (large), wall", scan["median"], "", ""))
print("  %-34s %5.1f MB/s %10s %8s" % ("  scan throughput", scan_mbs, "", ""))
print("  %-34s %8.3f s %10s %8s" % ("  (in-process parse only)", inproc["seconds"], "", ""))
print("  %-34s %8.3f s %10s %8s" % ("kumo validate (large), wall", prod["median"], "", ""))
print("  %-34s %5.1f MB/s %10s %8s" % ("  kumo throughput", kumo_mbs, "", ""))
print("  %-34s %10.3f %10s %8s" % ("ratio kumo/scan", ratio, ">= %.1f" % RATIO_MIN, mark(ok_ratio)))
print("  %-34s %7.1f MB %10s %8s" % ("peak RSS kumo validate (small)", rss_mb, "< %.0f MB" % RSS_MAX, mark(ok_rss)))
print("  %-34s %7.1f MB %10s %8s" % ("peak RSS kumo validate (large)", rss_large_mb, "", "info"))
print()

out = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": {"machine": platform.machine(), "system": platform.system(), "cpus": os.cpu_count()},
    "binaries": {"kumo": kumo, "kumo-bench": bench},
    "mb": "1e6 bytes",
    "files": {"large": {"path": large, "bytes": size_large}, "small": {"path": small, "bytes": size_small}},
    "scan": {"medianSeconds": scan["median"], "runs": scan["runs"], "mbPerSecond": scan_mbs,
             "events": inproc["events"], "inProcessSeconds": inproc["seconds"], "tool": scan["tool"]},
    "kumo": {"medianSeconds": prod["median"], "runs": prod["runs"], "mbPerSecond": kumo_mbs, "tool": prod["tool"]},
    "ratio": {"value": ratio, "target": RATIO_MIN, "pass": ok_ratio},
    "peakRSS": {"smallMB": rss_mb, "largeMB": rss_large_mb, "target": RSS_MAX, "pass": ok_rss, "tool": rss_tool},
    "pass": ok_ratio and ok_rss,
}
with open(results, "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
print("wrote %s" % results)
sys.exit(1 if check == "1" and not out["pass"] else 0)
PY
