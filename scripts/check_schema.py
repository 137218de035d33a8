#!/usr/bin/env python3
"""Checks schemas/kumo.schema.json against the examples, the test fixtures and kumo itself.

Usage: python3 scripts/check_schema.py --kumo PATH_TO_KUMO_BINARY

1. Every YAML document under examples/ must be accepted by the schema.
2. Every document of every file under Tests/KumoManifestTests/Fixtures/valid/ (recursively) must be accepted.
3. Under Tests/KumoManifestTests/Fixtures/invalid/ (recursively), a fixture is a file, or a directory holding two
   or more YAML files directly (one project, as kumo merges it). Files PyYAML cannot load
   (syntax errors, duplicate keys, recursive or exploding aliases, over-deep nesting, unknown
   tags) are skipped. When the schema rejects a file, `kumo validate --json FIXTURE` must exit 1:
   the schema may be looser than kumo, never stricter. A file whose first lines hold the comment
   `# schema: reject` must be rejected by the schema (a test of the schema's coverage).

YAML is read the way kumo reads it, as YAML 1.2 (core schema): only true/false are booleans,
only null, ~ and the empty value are null, only decimal integers and floats are numbers; `no`,
`on`, `0x1F` and `2024-01-01` stay strings, `0755` is 755. Mapping keys are always strings.

Exit status: 0 when everything agrees, 1 on any disagreement, 2 when the check cannot run.
Without --kumo, steps 1-3 run but the kumo cross-check is skipped (and the summary says so).
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

try:
    import yaml
    from yaml.constructor import ConstructorError
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode
    import jsonschema
    from jsonschema.exceptions import best_match
except ImportError as error:  # pragma: no cover - environment problem
    sys.exit(f"check_schema: {error}; install the dependencies with: pip install jsonschema pyyaml")

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = Path("schemas/kumo.schema.json")
EXAMPLES = Path("examples")
VALID = Path("Tests/KumoManifestTests/Fixtures/valid")
INVALID = Path("Tests/KumoManifestTests/Fixtures/invalid")
YAML_SUFFIXES = (".yaml", ".yml")

MARKER = re.compile(r"^\s*#\s*schema:\s*reject\b")
MARKER_LINES = 10
MAX_DEPTH = 128              # kumo's loader refuses deeper nesting
MAX_EXPANDED_NODES = 200_000  # beyond this, aliases are treated as a bomb (kumo refuses them too)
KUMO_TIMEOUT = 60            # seconds for one `kumo validate`

MERGE_TAG = "tag:yaml.org,2002:merge"
INTERPOLATION = r"\$\{"  # the schema's pattern for strings holding `${…}`


# --- YAML 1.2 core-schema loading ------------------------------------------------------------

class KumoLoader(yaml.SafeLoader):
    """A SafeLoader that types plain scalars by the YAML 1.2 core schema, like kumo's loader."""

    yaml_implicit_resolvers = {}
    yaml_constructors = {}


for _tag, _regexp, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
    (MERGE_TAG, r"^(?:<<)$", "<"),
]:
    KumoLoader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    try:
        return int(text, 10)
    except ValueError:
        raise ConstructorError(None, None, f"'{text}' is not a decimal integer", node.start_mark) from None


def _construct_float(loader, node):
    text = loader.construct_scalar(node)
    try:
        return float(text)
    except ValueError:
        raise ConstructorError(None, None, f"'{text}' is not a decimal number", node.start_mark) from None


def _construct_bool(loader, node):
    text = loader.construct_scalar(node)
    if text.lower() not in ("true", "false"):
        raise ConstructorError(None, None, f"'{text}' is not a boolean", node.start_mark)
    return text.lower() == "true"


def _construct_mapping(loader, node):
    """Mappings with string keys (the key's text), merge keys applied; yields for recursion."""
    data = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise ConstructorError(None, None, "mapping keys must be scalars", key_node.start_mark)
        data[key_node.value] = loader.construct_object(value_node, deep=False)


for _tag, _constructor in [
    ("tag:yaml.org,2002:null", yaml.SafeLoader.construct_yaml_null),
    ("tag:yaml.org,2002:bool", _construct_bool),
    ("tag:yaml.org,2002:int", _construct_int),
    ("tag:yaml.org,2002:float", _construct_float),
    ("tag:yaml.org,2002:str", yaml.SafeLoader.construct_yaml_str),
    ("tag:yaml.org,2002:seq", yaml.SafeLoader.construct_yaml_seq),
    ("tag:yaml.org,2002:map", _construct_mapping),
    (None, yaml.SafeLoader.construct_undefined),  # any other tag: not something kumo reads
]:
    KumoLoader.add_constructor(_tag, _constructor)


class Loaded:
    """The documents of one file, with their composed nodes for locating errors."""

    def __init__(self, path, documents, nodes):
        self.path = path
        self.documents = documents
        self.nodes = nodes


class LoadProblem(Exception):
    """The file cannot be read the way kumo would read it (so the schema cannot judge it)."""


def load_file(path):
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise LoadProblem(f"invalid UTF-8 at byte {error.start}") from None
    loader = KumoLoader(text)
    loader.name = str(path)  # for the marks in PyYAML's messages
    documents, nodes = [], []
    try:
        while loader.check_node():
            node = loader.get_node()
            inspect_node(node)
            nodes.append(node)
            documents.append(loader.construct_document(node))
    except yaml.YAMLError as error:
        raise LoadProblem(" ".join(str(error).split())) from None
    except RecursionError:
        raise LoadProblem("nesting too deep for PyYAML") from None
    finally:
        loader.dispose()
    return Loaded(path, documents, nodes)


def inspect_node(root):
    """Refuses what kumo's loader refuses but PyYAML accepts: duplicate keys, complex keys,
    recursive aliases, alias bombs and over-deep nesting. Iterative, so it cannot overflow."""
    size = {}        # id(node) -> expanded node count, once finished
    active = set()   # ids of nodes whose children are being inspected
    stack = [(root, 1, False)]  # (node, nesting depth, children done)
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            active.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            if size[key] > MAX_EXPANDED_NODES:
                raise LoadProblem(f"aliases expand to more than {MAX_EXPANDED_NODES} nodes")
            continue
        if key in size:
            continue
        if key in active:
            raise LoadProblem(f"recursive alias at line {node.start_mark.line + 1}")
        if depth > MAX_DEPTH and not isinstance(node, ScalarNode):  # depth counts collections
            raise LoadProblem(f"nesting deeper than {MAX_DEPTH} levels at line {node.start_mark.line + 1}")
        if isinstance(node, MappingNode):
            _check_keys(node)
        active.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _children(node):
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return node.value
    return []


def _check_keys(node):
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == MERGE_TAG:
            continue
        if not isinstance(key_node, ScalarNode):
            raise LoadProblem(f"complex (non-scalar) key at line {key_node.start_mark.line + 1}")
        first = seen.setdefault(key_node.value, key_node)
        if first is not key_node:
            raise LoadProblem(
                f"duplicate key '{key_node.value}' at line {key_node.start_mark.line + 1} "
                f"(first at line {first.start_mark.line + 1})")


def locate(node, path):
    """The 1-based line and column of the node at a JSON path, as near as the path allows."""
    for step in path:
        if isinstance(node, MappingNode):
            matches = [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == step]
            if not matches:
                break
            node = matches[-1]
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            break
    return node.start_mark.line + 1, node.start_mark.column + 1


# --- schema validation -----------------------------------------------------------------------

def schema_errors(validator, loaded):
    """Readable messages for every schema error in every document of a loaded file."""
    messages = []
    for index, (document, node) in enumerate(zip(loaded.documents, loaded.nodes)):
        try:
            errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
        except RecursionError:
            messages.append(f"{loaded.path}: document {index + 1} is nested too deeply to validate")
            continue
        for error in errors:
            path, message = describe(error)
            line, column = locate(node, path)
            where = ".".join(str(p) for p in path) or "(document)"
            if len(message) > 400:
                message = message[:397] + "..."
            messages.append(f"{loaded.path}:{line}:{column}: {where}: {message}")
    return messages


def describe(error, description=None):
    """The JSON path and a readable message for one schema error (`description`: of the
    nearest enclosing field, for messages about patterns)."""
    unknown = unknown_keys(error)
    if unknown:
        return list(error.absolute_path) + [unknown[0]], "; ".join(
            describe_unknown_key(key, error.schema) for key in unknown)
    keys = exclusive_keys(error)
    if keys:
        present = [k for k in keys if isinstance(error.instance, dict) and k in error.instance]
        return list(error.absolute_path), (f"exactly one of {', '.join(keys)} is required"
                                           + (f" (found {', '.join(present)})" if present else ""))
    keys = forbidden_keys(error)
    if keys:
        return list(error.absolute_path), (
            f"'{keys[0]}' is not allowed here (given the other keys)" if len(keys) == 1
            else f"{' and '.join(repr(k) for k in keys)} cannot be used together")
    if error.context:
        # anyOf/oneOf: report the alternative that came closest, ignoring the `${…}` string
        # alternative that numbers, booleans and constrained strings also accept.
        # Among the rest, a branch that failed on the value's type is the wrong branch.
        candidates = [e for e in error.context if e.schema.get("pattern") != INTERPOLATION] or list(error.context)
        candidates = [e for e in candidates if e.validator != "type"] or candidates
        return describe(best_match(candidates), error.schema.get("description") or description)
    if error.validator == "pattern" and description:
        return list(error.absolute_path), f"{error.instance!r} is not valid: {description}"
    return list(error.absolute_path), error.message


def unknown_keys(error):
    """Keys refused by `additionalProperties: false`, in document order."""
    if error.validator != "additionalProperties" or error.validator_value is not False:
        return []
    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    return [key for key in error.instance
            if key not in known and not any(re.search(p, key) for p in patterns)]


def describe_unknown_key(key, schema):
    known = sorted(schema.get("properties", {}))
    if known:
        message = f"unknown key '{key}'"
        guess = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if guess:
            message += f", did you mean '{guess[0]}'?"
        else:
            message += f" (allowed: {', '.join(known)}, or x-…)"
        return message
    names = [p for p in schema.get("patternProperties", {}) if p != "^x-"]
    return f"'{key}' is not an allowed key here (keys must match {' or '.join(names)}, or start with x-)"


def exclusive_keys(error):
    """For `oneOf: [{required: [a]}, {required: [b]}, ...]` (exactly one key), the keys."""
    branches = error.validator_value if error.validator == "oneOf" else None
    if not branches or not all(set(b) == {"required"} and len(b["required"]) == 1 for b in branches):
        return []
    return [b["required"][0] for b in branches]


def forbidden_keys(error):
    """For `not: {required: [...]}` (or `not: {anyOf: [{required: [...]}, ...]}`), the keys found."""
    if error.validator != "not" or not isinstance(error.instance, dict):
        return []
    branches = error.validator_value.get("anyOf", [error.validator_value])
    for branch in branches:
        keys = branch.get("required") if isinstance(branch, dict) else None
        if keys and all(k in error.instance for k in keys):
            return keys
    return []


def yaml_files(directory, recursive=True):
    if not directory.is_dir():
        return []
    found = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(p for p in found if p.is_file() and p.suffix in YAML_SUFFIXES)


def has_marker(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle):
            if number >= MARKER_LINES:
                break
            if MARKER.match(line):
                return True
    return False


def invalid_fixtures(root):
    """(path given to kumo, files of the fixture): a directory with two or more YAML files
    directly in it is one project; every other YAML file is a fixture of its own."""
    fixtures = []
    if not root.is_dir():
        return fixtures
    for directory in sorted([root] + [p for p in root.rglob("*") if p.is_dir()]):
        files = yaml_files(directory, recursive=False)
        if directory != root and len(files) >= 2:
            fixtures.append((directory, files))
        else:
            fixtures.extend((f, [f]) for f in files)
    return fixtures


def run_kumo(kumo, target):
    try:
        result = subprocess.run([kumo, "validate", "--json", str(target)], cwd=REPO,
                                capture_output=True, text=True, timeout=KUMO_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {KUMO_TIMEOUT}s"
    output = (result.stdout + result.stderr).strip()
    return result.returncode, output[:600]


# --- main ------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kumo", help="path of the kumo binary (for the invalid-fixture cross-check)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every fixture and its outcome")
    args = parser.parse_args()
    os.chdir(REPO)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    kumo = None
    if args.kumo:
        kumo = str(Path(args.kumo).resolve())
        if not os.access(kumo, os.X_OK):
            print(f"check_schema: kumo binary '{args.kumo}' does not exist or is not executable", file=sys.stderr)
            return 2
    try:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as error:
        print(f"check_schema: {SCHEMA_PATH} is unusable: {error}", file=sys.stderr)
        return 2
    validator = jsonschema.Draft202012Validator(schema, format_checker=None)

    problems = []

    def note(message):
        if args.verbose:
            print(message)

    def must_accept(files, kind):
        """Every document of every file must pass the schema."""
        for path in files:
            try:
                errors = schema_errors(validator, load_file(path))
            except LoadProblem as problem:
                errors = [f"{path}: cannot be loaded: {problem}"]
            problems.extend(f"{kind} rejected by the schema: {e}" for e in errors)
            note(f"{kind} {path}: {'ok' if not errors else 'REJECTED'}")

    # (a) examples and (b) valid fixtures: every document must be accepted.
    example_files = yaml_files(EXAMPLES)
    projects = {p.relative_to(EXAMPLES).parts[0] for p in example_files}
    must_accept(example_files, "example")
    valid_files = yaml_files(VALID)
    must_accept(valid_files, "valid fixture")

    # (c) invalid fixtures: schema rejection implies kumo rejection; markers demand rejection.
    fixtures = invalid_fixtures(INVALID)
    rejected = skipped = not_rejected_by_kumo = 0
    for target, files in fixtures:
        reasons = []
        loaded_any = False
        for path in files:
            marked = has_marker(path)
            try:
                errors = schema_errors(validator, load_file(path))
            except LoadProblem as problem:
                note(f"invalid {path}: skipped ({problem})")
                continue
            loaded_any = True
            reasons.extend(errors)
            if marked and not errors:
                problems.append(f"{path}: marked '# schema: reject' but the schema accepts it")
        if not loaded_any:
            skipped += 1
            continue
        if not reasons:
            note(f"invalid {target}: accepted by the schema (kumo's checks go further)")
            continue
        rejected += 1
        if kumo is None:
            note(f"invalid {target}: rejected by the schema; kumo not given, not cross-checked")
            continue
        status, output = run_kumo(kumo, target)
        if status == 1:
            note(f"invalid {target}: rejected by the schema and by kumo")
            continue
        not_rejected_by_kumo += 1
        outcome = f"exited {status}" if status is not None else output
        problems.append(
            f"{target}: the schema rejects it but `kumo validate --json` {outcome} (expected exit 1)\n"
            + "".join(f"      schema: {r}\n" for r in reasons[:5])
            + (f"      kumo: {output}" if status is not None and output else "      kumo: (no output)"))

    for problem in problems:
        print(f"error: {problem}")

    if kumo is None:
        verdict = "kumo cross-check skipped: no --kumo given"
    elif not_rejected_by_kumo:
        verdict = f"{not_rejected_by_kumo} NOT rejected by kumo"
    else:
        verdict = "all also rejected by kumo"
    summary = (f"schema check: {len(projects)} examples, {len(valid_files)} valid fixtures, "
               f"{len(fixtures)} invalid fixtures ({rejected} rejected by schema, {verdict})")
    if skipped:
        summary += f", {skipped} skipped (not loadable by PyYAML)"
    if problems:
        summary += f"; {len(problems)} problem(s)"
    print(summary)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
