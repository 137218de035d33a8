#!/usr/bin/env python3
"""Generates schemas/kumo.schema.json, the JSON Schema (draft 2020-12) of Kumo manifests.

Usage: python3 scripts/generate_schema.py           rewrite schemas/kumo.schema.json
       python3 scripts/generate_schema.py --check   exit 1 if the file is out of date

The schema serves editor completion and a first line of validation; kumo stays the authority.
It may be looser than kumo, never stricter (scripts/check_schema.py checks that): where a value
may hold an interpolation (`${…}`), numbers, booleans and constrained strings also accept a
string containing `${`; durations with several units (`1m30s`) are not range-checked.
"""
import argparse
import json
import sys
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "kumo.schema.json"


# --- bounded integers and durations as regular expressions ---------------------------------


def _same_length(a, b):
    """A regex for the decimal numbers from a to b, two strings of the same length."""
    if a == b:
        return a
    if len(a) == 1:
        return f"[{a}-{b}]"
    if a[0] == b[0]:
        return a[0] + _group(_same_length(a[1:], b[1:]))
    n = len(a) - 1
    parts = []
    first_full = int(a[0])
    if a[1:] != "0" * n:
        parts.append(a[0] + _group(_same_length(a[1:], "9" * n)))
        first_full += 1
    last_full = int(b[0])
    tail = None
    if b[1:] != "9" * n:
        tail = b[0] + _group(_same_length("0" * n, b[1:]))
        last_full -= 1
    if first_full <= last_full:
        digit = str(first_full) if first_full == last_full else f"[{first_full}-{last_full}]"
        parts.append(digit + ("[0-9]" if n == 1 else f"[0-9]{{{n}}}"))
    if tail:
        parts.append(tail)
    return "|".join(parts)


def _group(regex):
    return f"(?:{regex})" if "|" in regex else regex


def int_range(lo, hi):
    """Decimal digits (leading zeros allowed) for an integer in lo...hi, lo >= 0."""
    alternatives = []
    if lo == 0:
        alternatives.append("0+")
        lo = 1
    if lo <= hi:
        spans = []
        length = len(str(lo))
        while lo <= hi:
            top = min(hi, 10 ** length - 1)
            spans.append(_same_length(str(lo), str(top)))
            lo, length = top + 1, length + 1
        alternatives.append("0*" + _group("|".join(spans)))
    return "|".join(alternatives)


UNITS = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]


def duration_range(lo_ms, hi_ms):
    """A pattern for durations within lo...hi: single-unit durations are range-checked, durations
    with several units (`1m30s`) are accepted as they are (kumo checks them)."""
    alternatives = []
    for unit, factor in UNITS:
        lo = -(-lo_ms // factor)
        hi = hi_ms // factor
        if lo <= hi:
            alternatives.append(f"(?:{int_range(lo, hi)}){unit}")
    alternatives.append("(?:[0-9]+(?:ms|s|m|h)){2,}")
    return "^(?:" + "|".join(alternatives) + ")$"


def format_duration(ms):
    for unit, factor in reversed(UNITS):
        if ms and ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms}ms" if ms else "0s"


# --- schema building blocks -----------------------------------------------------------------

NAME = "^[A-Za-z][A-Za-z0-9_-]{0,63}$"
# Map keys: names, but never `x-…` (those are ignored extension keys, matched by X_KEYS).
NAME_KEY = "^(?!x-)[A-Za-z][A-Za-z0-9_-]{0,63}$"
DURATION = "^([0-9]+(ms|s|m|h))+$"
SIZE = "^[0-9]+(\\.[0-9]+)?(Mi|Gi|M|G|MB|GB)$"
INTERP = "\\$\\{"
ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
X_KEYS = {"^x-": {"description": "Extension key: ignored by Kumo (a place for YAML anchors)."}}


def REF(name):
    return {"$ref": f"#/$defs/{name}"}


def d(text, schema):
    """`schema` with a description (for completion)."""
    out = {"description": text}
    out.update(schema)
    return out


def obj(props, required=None, **extra):
    """A closed object: only `props` and `x-` keys."""
    out = {"type": "object", "properties": props, "patternProperties": dict(X_KEYS), "additionalProperties": False}
    if required:
        out["required"] = required
    out.update(extra)
    return out


def integer(lo=None, hi=None):
    base = {"type": "integer"}
    if lo is not None:
        base["minimum"] = lo
    if hi is not None:
        base["maximum"] = hi
    return {"anyOf": [base, REF("interpolated")]}


def number(**bounds):
    base = {"type": "number"}
    base.update(bounds)
    return {"anyOf": [base, REF("interpolated")]}


def boolean(const=None):
    base = {"type": "boolean"}
    if const is not None:
        base["const"] = const
    return {"anyOf": [base, REF("interpolated")]}


def enum(values):
    return {"anyOf": [{"type": "string", "enum": values}, REF("interpolated")]}


def string_pattern(pattern):
    return {"type": "string", "anyOf": [{"pattern": pattern}, {"pattern": INTERP}]}


S, M, H = 1000, 60_000, 3_600_000


def duration_in(lo, hi):
    """A duration kumo accepts only from lo to hi milliseconds (durations with several units
    are left to kumo)."""
    return {"type": "string", "anyOf": [{"pattern": duration_range(lo, hi)}, {"pattern": INTERP}]}


def bounded(text, lo, hi, ranged=True):
    """Description and schema of a duration field, range-checked unless `ranged` is false."""
    text += f" From {format_duration(lo)} to {format_duration(hi)}."
    return d(text, duration_in(lo, hi) if ranged else REF("duration"))


def exactly_one_of(keys):
    return [{"required": [k]} for k in keys]


OP = {"type": "string", "enum": ["<", "<=", "=", ">", ">="]}
# Looser than kumo's schedule parser: the value and unit of a rate, the field count of a cron.
SCHEDULE = ("^(?:rate\\(\\s*(?:0*1\\s+(?:minute|hour|day)|0*(?:[2-9]|[1-9][0-9]+)\\s+(?:minutes?|hours?|days?))\\s*\\)"
            "|cron\\(\\s*\\S+(?:\\s+\\S+){5}\\s*\\))$")
METRICS = ["requestsPerSecond", "inFlight", "concurrency", "cpu"]


def function_props(ranged):
    return {
        "description": d("Free text shown by `kumo plan` and the renderers.", REF("text")),
        "runtime": d(
            "How the function runs: `python3` and `node` load `handler` from `code`; `provided` runs "
            "its own bootstrap against the Lambda Runtime API; `exec` runs `command` once per call "
            "with the event JSON on stdin and the result on stdout.",
            enum(["python3", "node", "provided", "exec"])),
        "handler": d("Entry point as `module.function` (python3, node), e.g. `app.handler`.", REF("text")),
        "code": d("Directory with the function's code, relative to this file and inside the project; "
                  "its content hash drives updates.", REF("text")),
        "command": d("Program and arguments (runtime `exec`, or the bootstrap for `provided`).",
                     REF("stringList")),
        "memory": d("Memory in MB (128–10240) or a size string such as `512Mi` or `1Gi`.",
                    {"anyOf": [{"type": "integer", "minimum": 128, "maximum": 10240},
                               {"type": "string", "anyOf": [{"pattern": SIZE}, {"pattern": INTERP}]}]}),
        "timeout": bounded("Maximum run time of one invocation, e.g. `30s`.", 1 * S, 900 * S, ranged),
        "environment": d("Environment variables of the function's process.", REF("environment")),
        "concurrency": d("Hard cap of concurrent invocations (reserved concurrency), 1–1000.", integer(1, 1000)),
        "minInstances": d("Warm workers always kept (provisioned concurrency); 0 scales to zero.", integer(0, 100)),
        "idleTimeout": bounded("An idle worker is stopped after this long, e.g. `60s`.", 1 * S, 24 * H, ranged),
        "events": d("Triggers of the function: each item is exactly one `http` or `schedule` trigger.",
                    {"type": "array", "items": REF("functionEvent")}),
        "invokeConfig": d("Asynchronous invocation settings (retries and what happens to failed events).",
                          obj({
                              "maximumRetryAttempts": d("Retries of a failed asynchronous invocation, 0–2.", integer(0, 2)),
                              "maximumEventAge": bounded("Events older than this are not retried, e.g. `1h`.", 60 * S, 6 * H, ranged),
                              "onFailure": d("`dlq` keeps events that failed every attempt in the dead-letter "
                                             "queue; `discard` drops them.", enum(["dlq", "discard"])),
                          })),
    }


def service_props(ranged):
    return {
        "description": d("Free text shown by `kumo plan` and the renderers.", REF("text")),
        "command": d("Program and arguments of one replica; `${port}` is the replica's own port.",
                     REF("stringList")),
        "code": d("Directory with the service's code, relative to this file and inside the project; "
                  "the command runs there and its content hash drives updates.", REF("text")),
        "image": d("Container image used by `kumo render`; the local runtime runs `command`.", REF("text")),
        "port": d("Stable front port on 127.0.0.1, load-balanced over the replicas (1–65535).", integer(1, 65535)),
        "replicas": d("Number of replicas to run (0–100) when no scaling policy targets the service.",
                      integer(0, 100)),
        "resources": d("Resources of one replica.", obj({
            "cpu": d("vCPUs of one replica (more than 0, at most 64), e.g. `0.5`.",
                     number(exclusiveMinimum=0, maximum=64)),
            "memory": d("Memory of one replica in MB or as a size string such as `512Mi`.", REF("size")),
        })),
        "environment": d("Environment variables of every replica.", REF("environment")),
        "healthcheck": d("How readiness is probed: one of `http`, `tcp` or `exec` (here or in defaults.service).",
                         REF("healthcheck")),
        "dependsOn": d("Services started before this one: a list of names, or name → `{ condition: started | healthy }`.",
                       REF("dependsOn")),
        "restart": d("Restart policy when a replica exits: `no` (quote it or use YAML 1.2), `on-failure`, `always`.",
                     enum(["no", "on-failure", "always"])),
        "stopGracePeriod": bounded("Time between SIGTERM and SIGKILL when a replica is stopped, e.g. `10s`.",
                                   0, 10 * M, ranged),
    }


def scaling_behavior_direction(what):
    return obj({
        "stabilizationWindow": bounded(f"Kumo uses the {what} recommendation seen over this window, e.g. `300s`.",
                                       0, 1 * H),
        "policies": d("Limits on how fast the replica count may change.", {
            "type": "array",
            "items": obj({
                "type": d("`percent` of the current replicas or a fixed number of `replicas`.",
                          enum(["percent", "replicas"])),
                "value": d("Amount allowed per period, 1–1000.", integer(1, 1000)),
                "period": bounded("Length of the period the value applies to, e.g. `15s`.", 1 * S, 30 * M),
            }, required=["type", "value", "period"]),
        }),
        "selectPolicy": d("Which policy wins when several apply: `max`, `min`, or `disabled` to stop changes in this direction.",
                          enum(["max", "min", "disabled"])),
    })


def pattern_defs():
    string_or_strings = {"anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]}
    ignore_case = obj({"equals-ignore-case": d("Case-insensitive match.", {"type": "string"})},
                      required=["equals-ignore-case"])
    operator_keys = ["prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"]
    operator = obj({
        "prefix": d("Matches values starting with this string (or `{ equals-ignore-case: … }`).",
                    {"anyOf": [{"type": "string"}, ignore_case]}),
        "suffix": d("Matches values ending with this string (or `{ equals-ignore-case: … }`).",
                    {"anyOf": [{"type": "string"}, ignore_case]}),
        "equals-ignore-case": d("Matches a string regardless of case.", {"type": "string"}),
        "wildcard": d("Matches with `*` wildcards, e.g. `dir/*.png`.", {"type": "string"}),
        "anything-but": d("Matches anything except the given values (all strings or all numbers), or except a "
                          "prefix, suffix, equals-ignore-case or wildcard.", {
            "anyOf": [
                {"type": ["string", "number"]},
                {"type": "array", "minItems": 1, "items": {"type": "string"}},
                {"type": "array", "minItems": 1, "items": {"type": "number"}},
                obj({
                    "prefix": d("Excluded prefix.", string_or_strings),
                    "suffix": d("Excluded suffix.", string_or_strings),
                    "equals-ignore-case": d("Excluded values, compared case-insensitively.", string_or_strings),
                    "wildcard": d("Excluded wildcard patterns.", string_or_strings),
                }, oneOf=exactly_one_of(["prefix", "suffix", "equals-ignore-case", "wildcard"])),
            ]}),
        "numeric": d("Numeric comparison: `[op, n]` or `[op, n, op, n]` with op one of `<`, `<=`, `=`, `>`, `>=`.", {
            "type": "array", "minItems": 2, "maxItems": 4,
            "anyOf": [{"maxItems": 2}, {"minItems": 4}],
            "prefixItems": [OP, {"type": "number"}, OP, {"type": "number"}],
        }),
        "exists": d("`true` matches when the field is present, `false` when it is absent.", {"type": "boolean"}),
        "cidr": d("Matches IP addresses inside this IPv4 or IPv6 CIDR block, e.g. `10.0.0.0/24`.", {
            "type": "string",
            "anyOf": [{"pattern": "^[0-9]{1,3}(\\.[0-9]{1,3}){3}(/0*(3[0-2]|[12]?[0-9]))?$"},
                      {"pattern": "^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(/0*(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?$"}]}),
    }, oneOf=exactly_one_of(operator_keys))
    leaf = {
        "description": "Values to match (any one of them): strings, numbers, booleans, null, or one-operator objects.",
        "type": "array", "minItems": 1,
        "items": {"anyOf": [{"type": ["string", "number", "boolean", "null"]}, REF("patternOperator")]},
    }
    pattern = {
        "description": "An EventBridge event pattern: field → list of values to match, or → a nested pattern.",
        "type": "object",
        "properties": {
            "$or": d("Matches when any of the listed patterns (at least two) matches.",
                     {"type": "array", "minItems": 2, "items": REF("eventPattern")}),
        },
        "patternProperties": dict(X_KEYS),
        "additionalProperties": {"anyOf": [REF("eventPattern"), REF("patternValues")]},
    }
    return {"eventPattern": pattern, "patternValues": leaf, "patternOperator": operator}


def build():
    defs = {
        "interpolated": {
            "description": "A string with an interpolation (`${var:…}`, `${env:…}`, `${secret:…}`, `${service:….url}`, `${port}`), typed after resolution.",
            "type": "string", "pattern": INTERP,
        },
        "duration": {"description": "A duration with units: `250ms`, `10s`, `5m`, `1h`, `1h30m`.",
                     **string_pattern(DURATION)},
        "size": {"description": "A size: MB as an integer (`512`) or a string with a unit (`512Mi`, `1Gi`, `256MB`).",
                 "anyOf": [{"type": "integer", "minimum": 1},
                           {"type": "string", "anyOf": [{"pattern": SIZE}, {"pattern": INTERP}]}]},
        "reference": {"description": "The name of a resource declared in this project.", **string_pattern(NAME)},
        "stringList": {"type": "array", "minItems": 1, "items": REF("text")},
        "text": {"description": "Text; a plain number or boolean is read as its text, as kumo types scalars by field.",
                 "type": ["string", "number", "boolean"]},
        "scalar": {"type": ["string", "number", "boolean"]},
        "environment": {
            "type": "object",
            "patternProperties": {**X_KEYS, ENV_NAME: d("Value of the variable.", REF("scalar"))},
            "additionalProperties": False,
        },
        "functionEvent": {
            "description": "One trigger: exactly one of `http` or `schedule`.",
            **obj({
                "http": d("HTTP trigger served by the local gateway (API Gateway HTTP API v2 events).", obj({
                    "method": d("HTTP method, or `ANY`.",
                                enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"])),
                    "path": d("Route path starting with `/`; `{name}` segments become path parameters "
                              "(quote it in flow style).", string_pattern("^/")),
                }, required=["method", "path"])),
                "schedule": d("Schedule in AWS syntax: `rate(1 hour)`, `rate(5 minutes)` (minute, hour or day; "
                              "singular for 1) or `cron(0 12 * * ? *)` (six fields: minutes hours day-of-month "
                              "month day-of-week year).", string_pattern(SCHEDULE)),
            }, oneOf=exactly_one_of(["http", "schedule"])),
        },
        "function": obj(function_props(True), allOf=[
            {"if": {"required": ["runtime"], "properties": {"runtime": {"const": "exec"}}},
             "then": {"required": ["command"]}},
            {"if": {"required": ["runtime"], "properties": {"runtime": {"enum": ["python3", "node"]}}},
             "then": {"required": ["handler"]}},
        ]),
        "functionDefaults": obj(function_props(False)),
        "service": obj(service_props(True), required=["command"]),
        "serviceDefaults": obj(service_props(False)),
        "healthcheck": obj({
            "http": d("Probe with an HTTP GET of this path; any 2xx or 3xx is healthy.", string_pattern("^/")),
            "tcp": d("Probe by opening a TCP connection to the replica's port (`true`).", boolean(const=True)),
            "exec": d("Probe by running this command in the service's directory; exit 0 is healthy.",
                      REF("stringList")),
            "interval": bounded("Time between probes, e.g. `5s`.", 100, 1 * H),
            "timeout": bounded("A probe slower than this fails, e.g. `1s`.", 10, 5 * M),
            "retries": d("Consecutive failures before the replica is unhealthy, 1–100.", integer(1, 100)),
            "startPeriod": bounded("Failures during this start-up grace period are not counted, e.g. `2s`.",
                                   0, 1 * H),
        # At most one probe: a service may take its probe from defaults.service and give only
        # timings itself (kumo checks the merged healthcheck has exactly one).
        }, **{"not": {"anyOf": [{"required": pair} for pair in
                               (["http", "tcp"], ["http", "exec"], ["tcp", "exec"])]}}),
        "dependsOn": {"anyOf": [
            {"type": "array", "items": REF("reference")},
            {"type": "object",
             "patternProperties": {**X_KEYS, NAME_KEY: d("A service this one waits for.", obj({
                 "condition": d("`started`: once running; `healthy`: once its healthcheck passes.",
                                enum(["started", "healthy"])),
             }))},
             "additionalProperties": False},
        ]},
        "scaling": obj({
            "target": d("Address of the scaled resource: `function.NAME` or `service.NAME`.",
                        string_pattern("^(function|service)\\.[A-Za-z][A-Za-z0-9_-]*$")),
            "minReplicas": d("Fewest replicas (0–1000).", integer(0, 1000)),
            "maxReplicas": d("Most replicas (1–1000).", integer(1, 1000)),
            "linear": d("Linear policy R(t) = Rmin + (Rmax − Rmin) · L(t) / Lmax.", obj({
                "metric": d("Load signal L(t).", enum(METRICS)),
                "maxLoad": d("Load Lmax at which maxReplicas is reached (more than 0).", number(exclusiveMinimum=0)),
            }, required=["metric", "maxLoad"])),
            "targetTracking": d("Target tracking (Kubernetes HPA formula, tolerance 0.1): "
                                "desired = ceil(current · metric / target).", obj({
                "metric": d("Metric to keep at the target, per replica.", enum(METRICS)),
                "target": d("Target value of the metric per replica (more than 0); for the utilizations "
                            "`concurrency` and `cpu` at most 1, e.g. `0.7`.", number(exclusiveMinimum=0)),
            }, required=["metric", "target"], allOf=[
                {"if": {"required": ["metric"], "properties": {"metric": {"enum": ["concurrency", "cpu"]}}},
                 "then": {"properties": {"target": number(maximum=1)}}},
            ])),
            "behavior": d("Rate limits and stabilization, as in the Kubernetes HPA.", obj({
                "scaleUp": d("Limits when adding replicas.", scaling_behavior_direction("lowest")),
                "scaleDown": d("Limits when removing replicas.", scaling_behavior_direction("highest")),
            })),
        }, required=["target", "maxReplicas"], oneOf=exactly_one_of(["linear", "targetTracking"])),
        "ruleTarget": obj({
            "function": d("Name of the function invoked with the (transformed) event.", REF("reference")),
            "service": d("Name of the service that receives the event as an HTTP POST.", REF("reference")),
            "path": d("Path of the POST, starting with `/` (service targets only).", string_pattern("^/")),
            "inputTransformer": d("Builds the delivered input from parts of the event.", obj({
                "inputPathsMap": d("Placeholder name → JSONPath into the event (starting with `$`).", {
                    "type": "object",
                    "patternProperties": dict(X_KEYS),
                    "additionalProperties": d("JSONPath into the event, e.g. `$.detail.id`.", string_pattern("^\\$")),
                }),
                "inputTemplate": d("Template of the delivered input; `<name>` is replaced by the mapped value.",
                                   REF("text")),
            }, required=["inputTemplate"])),
            "input": d("Constant JSON text delivered instead of the event (not with `inputPath` or `inputTransformer`).", REF("text")),
            "inputPath": d("JSONPath of the part of the event to deliver, e.g. `$.detail`.", string_pattern("^\\$")),
        }, oneOf=exactly_one_of(["function", "service"]), allOf=[
            {"not": {"anyOf": [{"required": ["input", "inputPath"]}, {"required": ["input", "inputTransformer"]},
                               {"required": ["inputPath", "inputTransformer"]}]}},
            {"if": {"required": ["function"]}, "then": {"not": {"required": ["path"]}}},
        ]),
        "rule": obj({
            "description": d("Free text shown by `kumo plan` and the renderers.", REF("text")),
            "enabled": d("A disabled rule is kept but matches nothing (default true).", boolean()),
            "pattern": d("Amazon EventBridge event pattern the event must match.", REF("eventPattern")),
            "targets": d("Where matching events are delivered (at least one).",
                         {"type": "array", "minItems": 1, "items": REF("ruleTarget")}),
            "retryPolicy": d("Retries of failed deliveries.", obj({
                "maximumRetryAttempts": d("Retries of a failed delivery, 0–185.", integer(0, 185)),
                "maximumEventAge": bounded("Events older than this are no longer retried, e.g. `1h`.", 60 * S, 24 * H),
            })),
            "deadLetter": d("Keep events whose delivery failed every retry in the dead-letter queue.", boolean()),
        }, required=["pattern", "targets"]),
        "estimate": obj({
            "init": bounded("Fixed time of a deployment step, e.g. `400ms`.", 0, 1 * H),
            "each": bounded("Additional time per resource, e.g. `150ms`.", 0, 1 * H),
        }),
    }
    defs.update(pattern_defs())

    def named(kind, ref):
        return {"type": "object",
                "patternProperties": {**X_KEYS, NAME_KEY: d(f"{kind} (name: a letter, then up to 63 letters, digits, `_` or `-`).", REF(ref))},
                "additionalProperties": False}

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Kumo manifest, version 1",
        "description": "Functions, services, scaling policies and event rules of one Kumo project "
                       "(one file, or one of several files of a project directory).",
        **obj({
            "version": d("Manifest format version; always `1`.", {"anyOf": [{"const": 1}, REF("interpolated")]}),
            "project": d("Project name: a letter, then letters, digits, `-` or `_`; every file of a project "
                         "directory repeats it.", string_pattern("^[A-Za-z][A-Za-z0-9_-]*$")),
            "variables": d("Stage → variables for `${var:NAME}`; `default` applies to every stage, "
                           "`--stage` and `--var k=v` override.", {
                "type": "object",
                "patternProperties": dict(X_KEYS),
                "additionalProperties": d("Variables of this stage: name → value.", {
                    "type": "object",
                    "patternProperties": dict(X_KEYS),
                    "additionalProperties": d("Value of the variable.", REF("scalar")),
                }),
            }),
            "defaults": d("Fields applied to every function or service: scalars override, maps deep-merge, "
                          "lists replace.", obj({
                "function": d("Defaults for every function.", REF("functionDefaults")),
                "service": d("Defaults for every service.", REF("serviceDefaults")),
            })),
            "functions": d("Functions by name (address `function.NAME`).", named("Function", "function")),
            "services": d("Long-running services by name (address `service.NAME`).", named("Service", "service")),
            "scaling": d("Scaling policies by name (address `scaling.NAME`).", named("Scaling policy", "scaling")),
            "rules": d("Event rules by name (address `rule.NAME`).", named("Rule", "rule")),
            "estimates": d("Rollout time coefficients; `kumo calibrate` fits them from recorded applies.", obj({
                "functions": d("T(n) = init + each · n for n functions.", REF("estimate")),
                "services": d("S(m) = init + each · m for m services.", REF("estimate")),
                "rules": d("E(k) = init + each · k for k rules.", REF("estimate")),
            })),
            "pricing": d("Prices for cost estimates; defaults are public list prices.", obj({
                "region": d("Region whose price table is the default, e.g. `us-east-1`.",
                            {"type": "string", "examples": ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]}),
                "functions": d("Function prices.", obj({
                    "perGbSecond": d("Price per GB-second of function run time.", number(minimum=0)),
                    "perMillionRequests": d("Price per million invocations.", number(minimum=0)),
                })),
                "services": d("Service prices.", obj({
                    "perVcpuHour": d("Price per vCPU-hour of a replica.", number(minimum=0)),
                    "perGbHour": d("Price per GB-hour of a replica's memory.", number(minimum=0)),
                })),
            })),
            "usage": d("Expected monthly usage per function for cost estimates.", {
                "type": "object",
                "patternProperties": {
                    **X_KEYS,
                    "^function\\.[A-Za-z][A-Za-z0-9_-]*$": d("Usage of this function.", obj({
                        "monthlyRequests": d("Invocations per month (at most 10^12).", integer(0, 1_000_000_000_000)),
                        "averageDuration": bounded("Average run time of one invocation, e.g. `120ms`.", 1, 900 * S),
                    })),
                },
                "additionalProperties": False,
            }),
        }, required=["version", "project"]),
        "$defs": defs,
    }
    return schema


def render():
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"only check that {SCHEMA_PATH.name} is up to date")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is out of date: run python3 scripts/generate_schema.py", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
