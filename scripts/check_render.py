#!/usr/bin/env python3
"""Renders every example for both targets and checks the output with the engines' own validators.

    scripts/check_render.py --kumo PATH/TO/kumo [EXAMPLE_DIR ...]

For each example (default: every directory under examples/):
  - `kumo render --target sam -o TMP/template.yaml`, then `cfn-lint` on it (cfn-lint runs the SAM
    transform through aws-sam-translator, then CloudFormation's schemas and rules);
  - `kumo render --target kubernetes -o TMP/k8s`, then `kubernetes-validate --strict` on every
    object of a built-in kind (Knative's Service is a custom resource, which it cannot check).
Prints the error and warning counts per example; exits 1 on any error, on a missing validator,
or when a rendering fails. Nothing is skipped silently.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import yaml


def builtin(api_version):
    """True for core and Kubernetes-owned API groups (v1, apps/v1, autoscaling/v2, *.k8s.io)."""
    if "/" not in api_version:
        return True
    group = api_version.split("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def run(cmd, separate=False):
    if separate:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kumo", required=True)
    p.add_argument("examples", nargs="*")
    a = p.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    examples = a.examples or sorted(d for d in glob.glob(os.path.join(root, "examples", "*")) if os.path.isdir(d))
    for tool in ("cfn-lint", "kubernetes-validate"):
        if shutil.which(tool) is None:
            sys.exit("check_render: %s is not installed (scripts/deps --test installs it)" % tool)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for example in examples:
            name = os.path.basename(example.rstrip("/"))
            out = os.path.join(tmp, name)
            os.makedirs(out)
            template = os.path.join(out, "template.yaml")
            r = run([a.kumo, "render", "--target", "sam", example, "-o", template, "--no-color"])
            if r.returncode != 0:
                print("%s: kumo render --target sam failed:\n%s" % (name, r.stdout))
                failed = True
                continue
            lint = run(["cfn-lint", "--format", "parseable", template])
            findings = [line for line in lint.stdout.splitlines() if line.strip()]
            errors = [f for f in findings if ":E" in f]
            warnings = [f for f in findings if ":W" in f]
            # cfn-lint's exit status is a bit mask: 2 errors, 4 warnings, 8 informational.
            if lint.returncode & 2 or errors or lint.returncode & 1:
                failed = True
            print("%-8s sam         cfn-lint: %d errors, %d warnings" % (name, len(errors), len(warnings)))
            for f in errors + warnings:
                print("    " + f)
            if lint.returncode & 1:
                print("    cfn-lint failed to run:\n" + lint.stdout)

            k8s = os.path.join(out, "k8s")
            r = run([a.kumo, "render", "--target", "kubernetes", example, "-o", k8s, "--no-color"], separate=True)
            if r.returncode != 0:
                print("%s: kumo render --target kubernetes failed:\n%s" % (name, r.stderr))
                failed = True
                continue
            files, custom = [], []
            for path in sorted(glob.glob(os.path.join(k8s, "*.yaml"))):
                with open(path) as f:
                    doc = yaml.safe_load(f)
                (files if builtin(doc["apiVersion"]) else custom).append(path)
            if not files:
                # Said out loud, not skipped: e.g. examples/hello has one function without an
                # image, which the Kubernetes rendering reports instead of rendering.
                print("%-8s kubernetes  no built-in objects to validate (%d custom resources); kumo reported why:" % (name, len(custom)))
                print("    " + r.stderr.strip().replace("\n", "\n    ") if r.stderr else "    (nothing)")
                continue
            v = run(["kubernetes-validate", "--strict"] + files)
            errors = [line for line in v.stdout.splitlines() if line.startswith("ERROR")]
            if v.returncode != 0 or errors:
                failed = True
            print("%-8s kubernetes  kubernetes-validate --strict: %d objects, %d errors (%d custom resources not checked: %s)"
                  % (name, len(files), len(errors), len(custom), ", ".join(os.path.basename(c) for c in custom) or "none"))
            if v.returncode != 0:
                print("    " + v.stdout.replace("\n", "\n    "))
    if failed:
        sys.exit(1)
    print("check_render: every rendering passes its engine's validator")


if __name__ == "__main__":
    main(sys.argv[1:])
