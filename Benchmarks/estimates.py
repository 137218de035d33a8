"""The rollout-estimate matrix of Benchmarks/estimates.sh (run through it).

In one project with its own runtime: a training set of applies and destroys, `kumo calibrate`,
then the matrix. For every cell it records the built-in estimate (`kumo plan --uncalibrated`
against the same state), the calibrated estimate the apply's plan made, and the apply's actual
time (both from `kumo calibrate --report`), and prints the errors.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--kumo", required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--results", required=True)
ap.add_argument("--server", required=True, help="the replica program (Benchmarks/services/server.py)")
ap.add_argument("--quick", action="store_true", help="a smaller matrix (no 1,000-function cells)")
ap.add_argument("--repeat", type=int, default=3, help="applies per cell; the cell reports the median (default 3)")
args = ap.parse_args()
KUMO, DIR = os.path.abspath(args.kumo), args.dir


def log(*parts):
    print("==>", *parts, file=sys.stderr, flush=True)


def kumo(*argv, check=True):
    r = subprocess.run([KUMO, *argv, "--no-color"] if argv[0] in ("plan", "apply", "destroy") else [KUMO, *argv],
                       cwd=DIR, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit("kumo %s failed (%d):\n%s%s" % (" ".join(argv), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


def manifest(functions=0, warm=0, services=0, replicas=1, env="1", prefix="c"):
    lines = ["version: 1", "project: estimates"]
    if functions:
        lines.append("functions:")
        for i in range(functions):
            lines.append("  %sf%d: { runtime: python3, handler: app.echo, code: fn, minInstances: %d }" % (prefix, i, warm))
    if services:
        lines.append("services:")
        for i in range(services):
            lines.append('  %ss%d: { command: ["python3", "server.py", "${port}"], code: web, replicas: %d, '
                         'environment: { REVISION: "%s" }, healthcheck: { tcp: true, interval: 2s } }' % (prefix, i, replicas, env))
    return "\n".join(lines) + "\n"


def write(text):
    with open(os.path.join(DIR, "kumo.yaml"), "w") as f:
        f.write(text)


def builtin_estimate():
    plan = json.loads(kumo("plan", "--uncalibrated", "--json").stdout)
    return plan["estimate"]["seconds"]


def last_apply():
    report = json.loads(kumo("calibrate", "--report", "--json", "--last", "1").stdout)
    return report["applies"][0]


def once(text, destroy):
    """Plans TEXT with the built-in coefficients, applies (or destroys) it; the journal's entry."""
    write(text)
    builtin = builtin_estimate()
    kumo("destroy" if destroy else "apply", "--auto-approve")
    a = last_apply()
    return {"estimate": a["estimate_seconds"], "error_bar": a["estimate_error_seconds"], "actual": a["actual_seconds"], "builtin": builtin}


def run(cell, runs):
    """The median run of CELL (by actual time) and every run's error."""
    ordered = sorted(runs, key=lambda r: r["actual"])
    row = dict(ordered[len(ordered) // 2], cell=cell)
    row["error"] = (row["estimate"] - row["actual"]) / row["actual"]
    row["builtin_error"] = (row["builtin"] - row["actual"]) / row["actual"]
    row["run_errors"] = [(r["estimate"] - r["actual"]) / r["actual"] for r in runs]
    log("%-34s estimate %7.3f s  actual %7.3f s  error %+6.1f %% (runs %s)  built-in %7.3f s (%+.0f %%)" % (
        cell, row["estimate"], row["actual"], row["error"] * 100, " ".join("%+.0f" % (e * 100) for e in row["run_errors"]),
        row["builtin"], row["builtin_error"] * 100))
    return row


EMPTY = manifest()


def cells(quick):
    """(name, manifest) pairs of the matrix; each creates, then destroys."""
    for n in (1, 10, 100) + (() if quick else (1000,)):
        for warm in (0, 1):
            yield "%d functions, minInstances %d" % (n, warm), manifest(functions=n, warm=warm)
    for m in (1, 5, 10):
        for r in (1, 3):
            yield "%d services × %d replicas" % (m, r), manifest(services=m, replicas=r)


def training():
    """Applies of their own, mostly of sizes the matrix does not use, at two parallelisms, so that
    q (many starts at once) and each (one start's latency) are told apart."""
    for n, warm in ((3, 0), (30, 0), (300, 0), (1, 1), (2, 1), (3, 1), (20, 1), (50, 1), (150, 1), (1, 2), (1, 3), (5, 2), (40, 2)):
        yield "train: %d functions × %d warm" % (n, warm), manifest(functions=n, warm=warm, prefix="t"), []
    for m, r in ((1, 1), (2, 1), (4, 1), (7, 1), (1, 2), (2, 2), (4, 2), (6, 2), (8, 3)):
        yield "train: %d services × %d replicas" % (m, r), manifest(services=m, replicas=r, prefix="t"), []
    yield "train: rolling update of 2", manifest(services=1, replicas=2, prefix="t"), [manifest(services=1, replicas=2, prefix="t", env="2")]
    yield "train: rolling update of 4", manifest(services=2, replicas=4, prefix="t"), [manifest(services=2, replicas=4, prefix="t", env="2")]


os.makedirs(os.path.join(DIR, "fn"), exist_ok=True)
os.makedirs(os.path.join(DIR, "web"), exist_ok=True)
with open(os.path.join(DIR, "fn", "app.py"), "w") as f:
    f.write("def echo(event, context):\n    return event\n")
shutil.copy(args.server, os.path.join(DIR, "web", "server.py"))
write(EMPTY)

rows, train_rows = [], []
started = time.time()
log("training set")
for parallelism in ("10", "4"):
    for name, text, updates in training():
        write(text)
        kumo("apply", "--auto-approve", "--parallelism", parallelism)
        for update in updates:
            write(update)
            kumo("apply", "--auto-approve", "--parallelism", parallelism)
        write(EMPTY)
        kumo("destroy", "--auto-approve", "--parallelism", parallelism)
        log("%s (p=%s)" % (name, parallelism))
calibration = json.loads(kumo("calibrate", "--json").stdout)
log("calibrated: " + json.dumps(calibration))

log("matrix")
for name, text in cells(args.quick):
    creates, destroys = [], []
    for _ in range(args.repeat):
        creates.append(once(text, destroy=False))
        destroys.append(once(EMPTY, destroy=True))
    rows.append(run(name, creates))
    rows.append(run("destroy " + name, destroys))
updates, destroys = [], []
for _ in range(args.repeat):
    once(manifest(services=1, replicas=3), destroy=False)
    updates.append(once(manifest(services=1, replicas=3, env="2"), destroy=False))
    destroys.append(once(EMPTY, destroy=True))
rows.append(run("rolling update of 3 replicas", updates))
rows.append(run("destroy 3 replicas", destroys))


def summary(key):
    errors = sorted(abs(r[key]) for r in rows)
    return {"median": statistics.median(errors), "worst": errors[-1]}


result = {"calibration": calibration, "rows": rows, "calibrated": summary("error"), "builtin": summary("builtin_error"),
          "seconds": time.time() - started, "quick": args.quick, "repeat": args.repeat}
json.dump(result, open(args.results, "w"), indent=1)

print("\nRollout estimates after `kumo calibrate` on a separate training set (%s; each cell the median of %d applies)"
      % ("quick matrix" if args.quick else "full matrix", args.repeat))
print("%-36s %10s %10s %8s %10s %8s" % ("cell", "estimate", "actual", "error", "built-in", "error"))
for r in rows:
    print("%-36s %9.3fs %9.3fs %+7.1f%% %9.3fs %+7.1f%%" % (r["cell"], r["estimate"], r["actual"], r["error"] * 100, r["builtin"], r["builtin_error"] * 100))
c, b = result["calibrated"], result["builtin"]
print("calibrated: median |error| %.1f %%, worst %.1f %%  (target ≤ 10 %%, ≤ 30 %%)" % (c["median"] * 100, c["worst"] * 100))
print("built-in:   median |error| %.1f %%, worst %.1f %%  (target: within 50 %%)" % (b["median"] * 100, b["worst"] * 100))
