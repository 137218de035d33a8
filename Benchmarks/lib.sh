# Shared helpers for the benchmark scripts (sourced, not run).

log() { echo "==> $*" >&2; }

# parse_check_flag ARGS...: the benchmark scripts' one option. Sets CHECK=1 for --check; --help
# prints the script's opening comment; anything else is a usage error (exit 2).
parse_check_flag() {
    CHECK=0
    local arg
    for arg in "$@"; do
        case "$arg" in
            --check) CHECK=1 ;;
            -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
            *) echo "$(basename "$0"): unknown argument: $arg" >&2; exit 2 ;;
        esac
    done
}

# release_binary PRODUCT: builds PRODUCT in release mode into $SCRATCH (default .build-release,
# never .build) and prints the binary's path.
release_binary() {
    local scratch=${SCRATCH:-.build-release}
    log "building $1 (release, $scratch)"
    swift build -c release --scratch-path "$scratch" --product "$1" >&2
    # kumo starts its workers under kumo-init, which it looks for beside itself.
    [[ $1 != kumo ]] || swift build -c release --scratch-path "$scratch" --product kumo-init >&2
    echo "$scratch/release/$1"
}

# generated_manifest FILE N [GENERATE_ARGS...]: writes FILE with Benchmarks/generate.py (N
# functions) when it is missing or older than the generator.
generated_manifest() {
    local file=$1 n=$2; shift 2
    mkdir -p "$(dirname "$file")"
    if [[ ! -f "$file" || Benchmarks/generate.py -nt "$file" ]]; then
        log "generating $file"
        python3 Benchmarks/generate.py "$n" "$file" "$@"
    fi
}

apt_install() {  # best effort; needs root and network
    command -v apt-get >/dev/null && [[ $(id -u) == 0 ]] || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

ensure_hyperfine() {
    if ! command -v hyperfine >/dev/null; then
        log "hyperfine missing; trying apt-get install hyperfine"
        apt_install hyperfine || log "hyperfine unavailable; using the Python timing loop"
    fi
}

# time_cmd OUTDIR NAME [--prepare CMD] CMD...: median wall time of CMD over $RUNS runs after
# one warm-up; writes OUTDIR/NAME.json = {"median": s, "runs": [...], "tool": ...}.
# --prepare runs a shell command before every run (not timed).
time_cmd() {
    local dir=$1 name=$2; shift 2
    local prepare=""
    if [[ "${1:-}" == --prepare ]]; then prepare=$2; shift 2; fi
    if command -v hyperfine >/dev/null; then
        local opts=(--style basic --warmup 1 --runs "${RUNS:-5}" --export-json "$dir/$name.hf.json")
        [[ -n "$prepare" ]] && opts+=(--prepare "$prepare")
        hyperfine --help 2>/dev/null | grep -q -- '--shell' && [[ -z "$prepare" ]] && opts+=(-N)
        hyperfine "${opts[@]}" "$(printf '%q ' "$@")" >&2
        python3 - "$dir/$name.hf.json" "$dir/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
json.dump({"median": r["median"], "runs": r["times"], "tool": "hyperfine"}, open(sys.argv[2], "w"))
PY
    else
        python3 - "${RUNS:-5}" "$dir/$name.json" "$prepare" "$@" <<'PY'
import json, statistics, subprocess, sys, time
runs, out, prepare, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
def once():
    if prepare:
        subprocess.run(prepare, shell=True, check=True)
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t
once()  # warm-up
times = [once() for _ in range(runs)]
print("  %s: median %.4f s over %d runs" % (" ".join(cmd), statistics.median(times), runs), file=sys.stderr)
json.dump({"median": statistics.median(times), "runs": times, "tool": "python"}, open(out, "w"))
PY
    fi
}

# --- the plan benchmark's data (plan.sh, state.sh) ------------------------------------------------

DATA=Benchmarks/data
BASE=$DATA/m10k.yaml
EDITED=$DATA/m10k-edited.yaml

# plan_benchmark_state KUMO TMP: generates $BASE (10,000 functions, 2,000 rules) and an edited
# copy, and writes TMP/state.json: the 11,010-resource state plan.sh and state.sh plan against
# (9,000 of the functions, 1,000 of them edited, specs from saved plans so hashes are Kumo's own,
# plus every rule and service).
plan_benchmark_state() {
    local kumo=$1 tmp=$2
    generated_manifest "$BASE" 10000 --seed 42
    generated_manifest "$EDITED" 10000 --seed 42 --edit-fraction 0.15

    log "building the state (9,000 functions, 1,000 of them edited)"
    "$kumo" plan "$BASE" --state "$tmp/none.db" --out "$tmp/base.plan" >/dev/null
    "$kumo" plan "$EDITED" --state "$tmp/none.db" --out "$tmp/edited.plan" >/dev/null
    python3 - "$tmp/base.plan" "$tmp/edited.plan" "$tmp/state.json" <<'PY'
import json, sys
base = {r["address"]: r for r in json.load(open(sys.argv[1]))["resources"]}
edited = {r["address"]: r for r in json.load(open(sys.argv[2]))["resources"]}
functions = sorted(a for a in base if a.startswith("function."))
changed = [a for a in functions if edited[a]["spec_hash"] != base[a]["spec_hash"]]
if len(changed) < 1000:
    sys.exit("plan.sh: only %d edited functions; raise --edit-fraction" % len(changed))
take_edited = set(changed[:1000])
unchanged = [a for a in functions if a not in set(changed)]
kept = set(changed[:1000]) | set(unchanged[:8000])
resources = []
for address in sorted(base):
    if address.startswith("function.") and address not in kept:
        continue
    r = edited[address] if address in take_edited else base[address]
    resources.append({"address": address, "kind": r["kind"], "name": r["name"], "status": "applied",
                      "applied_serial": 1, "spec_hash": r["spec_hash"], "code_hash": r["code_hash"],
                      "dependencies": r["dependencies"], "secrets": {}, "spec": r["spec"]})
doc = {"format_version": 1, "kind": "kumo-state", "lineage": "00000000-0000-4000-8000-00000000b0b0",
       "serial": 1, "resources": resources}
json.dump(doc, open(sys.argv[3], "w"))
print("state: %d resources (%d functions, %d edited)" % (len(resources), len(kept), len(take_edited)), file=sys.stderr)
PY
}

# --- runtimes (for runtime.sh and services.sh; they set KUMO) -----------------------------------

RUNTIMES=()

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# json_get FILE KEY...: the value at KEY... (list indices as numbers) in the JSON file FILE.
json_get() { python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"; }

# start_runtime DIR [PATH [FLAGS...]]: starts a runtime for DIR on a free gateway port (optionally
# with PATH, and further `runtime start` flags); stop_runtimes stops every runtime started so
# (call it from the EXIT trap).
start_runtime() {
    local dir=$1 path=${2:-$PATH}
    shift $(( $# < 2 ? $# : 2 ))
    RUNTIMES+=("$dir")
    PATH=$path "$KUMO" runtime start -C "$dir" --gateway-port "$(free_port)" "$@" >&2
}
stop_runtimes() {
    local dir pid
    for dir in "${RUNTIMES[@]}"; do
        "$KUMO" runtime stop -C "$dir" >/dev/null 2>&1
        # A runtime that did not answer: its pid from runtime.json.
        pid=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["pid"])' "$dir/.kumo/runtime.json" 2>/dev/null)
        [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null
    done
    RUNTIMES=()
}

# apply DIR [ARGS]: kumo apply for the project in DIR. (`kumo apply DIR` takes DIR for a saved
# plan file, so apply runs in the directory.)
apply() {
    local dir=$1; shift
    (cd "$dir" && "$KUMO" apply --auto-approve --no-color "$@")
}

# timed_apply DIR OUT ARGS...: apply in DIR; OUT.txt is its output, OUT.json its wall time.
timed_apply() {
    local dir=$1 out=$2 start end; shift 2
    start=$(date +%s%N)
    apply "$dir" "$@" >"$out.txt" || { cat "$out.txt" >&2; exit 1; }
    end=$(date +%s%N)
    echo "{\"seconds\": $(python3 -c "print(($end - $start) / 1e9)")}" >"$out.json"
}

# calibration KIND ENTRIES: the rollout-estimate check shared by runtime.sh and services.sh.
# In a fresh runtime for $TMP/calibrate (made with the caller's write_project), applies $SIZES
# resources of KIND ("functions" or "services"; `ENTRIES PREFIX N` prints N manifest entries),
# destroying between sizes, with --parallelism $PARALLELISM; runs `kumo calibrate --json`
# (calibration.json); then plans (NAME-plan.json) and applies (NAME.json, timed) $VERIFY fresh
# ones as NAME=verify and each $VERIFY_EXTRA count M as NAME=verify-extra-M. All in $TMP.
calibration() {
    local kind=$1 entries=$2 dir=$TMP/calibrate n
    write_project "$dir" </dev/null
    start_runtime "$dir"
    for n in $SIZES; do
        log "calibration: applying $n $kind (parallelism $PARALLELISM)"
        printf 'version: 1\nproject: calibrate\n%s:\n%s\n' "$kind" "$("$entries" c "$n")" >"$dir/kumo.yaml"
        timed_apply "$dir" "$TMP/cal-$n" --parallelism "$PARALLELISM"
        "$KUMO" destroy "$dir" --auto-approve --no-color --parallelism "$PARALLELISM" >"$TMP/cal-destroy-$n.txt"
    done
    "$KUMO" calibrate -C "$dir" --json >"$TMP/calibration.json"
    log "calibration: $(tr -d '\n ' <"$TMP/calibration.json")"
    # verify NAME N PREFIX: plan N fresh ones, apply them (timed), destroy them.
    verify() {
        printf 'version: 1\nproject: calibrate\n%s:\n%s\n' "$kind" "$("$entries" "$3" "$2")" >"$dir/kumo.yaml"
        "$KUMO" plan "$dir" --json --parallelism "$PARALLELISM" >"$TMP/$1-plan.json"
        log "verification: applying $2 fresh $kind (plan estimate $(json_get "$TMP/$1-plan.json" estimate seconds) s)"
        timed_apply "$dir" "$TMP/$1" --parallelism "$PARALLELISM"
        "$KUMO" destroy "$dir" --auto-approve --no-color --parallelism "$PARALLELISM" >/dev/null
    }
    verify verify "$VERIFY" v
    for n in $VERIFY_EXTRA; do verify "verify-extra-$n" "$n" "x${n}n"; done
    "$KUMO" runtime stop -C "$dir" >/dev/null
}
