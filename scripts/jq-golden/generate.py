#!/usr/bin/env python3
"""Generate the jq 1.8 golden corpus for the Rust jq engine.

Reads every `cases/*.yaml` file next to this script, runs each case through real jq 1.8
(the PyPI `jq` package, the same binding Python Ocean uses) and writes the outputs to
`ocean-core/tests/jq_golden/cases.json`, sorted by name, so that the Rust test suite can
check our engine against them without Python.

Setup (nothing is installed by this script):

    pip install -r scripts/jq-golden/requirements.txt   # jq==1.13.0, PyYAML

Run from anywhere:

    python3 scripts/jq-golden/generate.py            # rewrite cases.json
    python3 scripts/jq-golden/generate.py --check    # exit 1 if cases.json is stale

Case format (each YAML file holds `cases:` and, optionally, `fixtures:`):

    fixtures:
      github_pr: '{"number": 7, ...}'     # JSON text, shared by several cases
    cases:
      - name: slice_null_sha            # unique across all files
        expr: '.sha[0:7]'               # the jq program, exactly as a mapping would hold it
        input: '{"sha": null}'          # JSON text (so YAML never retypes dates, yes/no, 1.0)
      - name: pr_title
        expr: '.title'
        fixture: github_pr              # instead of `input`
      - name: rewrite_slash_join
        expr: ".a + '/' + .b"
        input: '{"a": "x", "b": "y"}'
        ocean_rewrite: true             # apply Ocean's single-quote rewrite before jq

Numbers are recorded as jq.py returns them: integral results become Python ints (`10/2` is
`5`, an input `5.0` passed through is `5`), everything else stays a float. They are written
with `json.dumps`, so `5` and `5.0` stay distinguishable in the JSON file.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CASES_DIR = HERE / "cases"
GOLDEN_DIR = REPO / "ocean-core" / "tests" / "jq_golden"
OUTPUT = GOLDEN_DIR / "cases.json"
MANUAL_OUTPUT = GOLDEN_DIR / "manual.json"
MATRIX_OUTPUT = GOLDEN_DIR / "builtins.json"
ITEMS_OUTPUT = GOLDEN_DIR / "items_to_parse.json"

# The jq 1.8 manual whose examples the manual corpus holds: the tag, the commit it names (checked
# when a local clone is given) and the manual's path at that commit.
JQ_TAG = "jq-1.8.2"
JQ_COMMIT = "34f7186b86743a083a589741b6cea95293524108"
MANUAL_PATH = "docs/content/manual/v1.8/manual.yml"
MANUAL_URL = f"https://raw.githubusercontent.com/jqlang/jq/{JQ_COMMIT}/{MANUAL_PATH}"

REQUIRED_JQ_PY = "1.13.0"
REQUIRED_LIBJQ_MAJOR_MINOR = "1.8"

# Ocean rewrites a `'` that opens a string (at the start or after whitespace, not followed by
# whitespace or `"`) or closes one (not after whitespace or `"`, followed by whitespace or the
# end) into `"`, keeping the surrounding whitespace.
OCEAN_QUOTE_RE = re.compile(r"(^|\s)'(?!\s|\")|(?<!\s|\")'(\s|$)")

# serde_json (without arbitrary_precision) holds integers in i64 or u64 only; an input outside
# that range would reach the Rust engine as a float while jq saw an exact integer.
INPUT_INT_MIN = -(2**63)
INPUT_INT_MAX = 2**64 - 1


class CorpusError(Exception):
    """A case file is malformed."""


def ocean_rewrite(expr: str) -> str:
    """Apply Ocean's single-quote rewrite (port-app-config mappings may use '...')."""
    return OCEAN_QUOTE_RE.sub(lambda m: (m.group(1) or "") + '"' + (m.group(2) or ""), expr)


def check_jq_version(jq_module: Any) -> str:
    """Refuse to run with anything but jq.py 1.13.0 bundling libjq 1.8.x."""
    py_version = importlib.metadata.version("jq")
    if py_version != REQUIRED_JQ_PY:
        raise SystemExit(
            f"expected the PyPI package jq=={REQUIRED_JQ_PY} (bundles libjq 1.8.2), found {py_version}; "
            "run `pip install -r scripts/jq-golden/requirements.txt`"
        )
    # The extension records the libjq source tree it was built from (".../jq-1.8.2/src").
    blob = Path(jq_module.__file__).read_bytes()
    found = sorted(set(m.decode() for m in re.findall(rb"jq-(\d+\.\d+\.\d+)", blob)))
    if not found:
        raise SystemExit("could not find the bundled libjq version in the jq extension module")
    if any(not v.startswith(REQUIRED_LIBJQ_MAJOR_MINOR + ".") for v in found):
        raise SystemExit(f"expected libjq {REQUIRED_LIBJQ_MAJOR_MINOR}.x, the jq module bundles {found}")
    # Behaviour probes that tell 1.8 apart from 1.7 and 1.6, in case the build path lies.
    probes = {
        '"abc" | trimstr("a")': ["bc"],  # trimstr arrived in 1.8
        "-5 | abs": [5],  # abs arrived in 1.8
        "have_decnum": [True],
    }
    for expr, expected in probes.items():
        got = jq_module.compile(expr).input_value(None).all()
        if got != expected:
            raise SystemExit(f"libjq does not behave like 1.8: `{expr}` gave {got!r}, expected {expected!r}")
    return found[0]


def check_input_numbers(value: Any, where: str) -> None:
    """Reject inputs that serde_json could not hold exactly (see INPUT_INT_MIN/MAX)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not INPUT_INT_MIN <= value <= INPUT_INT_MAX:
            raise CorpusError(f"{where}: input integer {value} does not fit i64/u64")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CorpusError(f"{where}: input holds a non-finite float")
    elif isinstance(value, list):
        for item in value:
            check_input_numbers(item, where)
    elif isinstance(value, dict):
        for item in value.values():
            check_input_numbers(item, where)


def parse_json_text(text: Any, where: str) -> Any:
    if not isinstance(text, str):
        raise CorpusError(f"{where}: expected JSON text (a YAML string), got {type(text).__name__}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorpusError(f"{where}: input is not valid JSON: {err}") from err
    check_input_numbers(value, where)
    return value


def load_cases(yaml_module: Any) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    files = sorted(CASES_DIR.glob("*.yaml"))
    if not files:
        raise CorpusError(f"no case files in {CASES_DIR}")
    for path in files:
        doc = yaml_module.safe_load(path.read_text(encoding="utf-8")) or {}
        fixtures = {
            name: parse_json_text(text, f"{path.name}: fixture {name}")
            for name, text in (doc.get("fixtures") or {}).items()
        }
        for index, raw in enumerate(doc.get("cases") or []):
            where = f"{path.name}: case #{index}"
            unknown = set(raw) - {"name", "expr", "input", "fixture", "ocean_rewrite"}
            if unknown:
                raise CorpusError(f"{where}: unknown keys {sorted(unknown)}")
            name, expr = raw.get("name"), raw.get("expr")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
                raise CorpusError(f"{where}: name must be snake_case, got {name!r}")
            if not isinstance(expr, str) or not expr.strip():
                raise CorpusError(f"{where} ({name}): expr must be a non-empty string")
            if name in seen:
                raise CorpusError(f"{where}: duplicate name {name!r} (also in {seen[name]})")
            seen[name] = path.name
            if ("input" in raw) == ("fixture" in raw):
                raise CorpusError(f"{where} ({name}): give exactly one of `input` and `fixture`")
            if "fixture" in raw:
                if raw["fixture"] not in fixtures:
                    raise CorpusError(f"{where} ({name}): unknown fixture {raw['fixture']!r}")
                value = fixtures[raw["fixture"]]
            else:
                value = parse_json_text(raw["input"], f"{where} ({name})")
            rewrite = raw.get("ocean_rewrite", False)
            if not isinstance(rewrite, bool):
                raise CorpusError(f"{where} ({name}): ocean_rewrite must be a boolean")
            # Our engine, like Ocean, rewrites every program, so an unflagged case must be one the
            # rewrite leaves alone; otherwise jq and the engine would run different programs.
            if not rewrite and ocean_rewrite(expr) != expr:
                raise CorpusError(
                    f"{where} ({name}): Ocean's single-quote rewrite changes this expression; "
                    "set `ocean_rewrite: true`"
                )
            cases.append({"name": name, "expr": expr, "input": value, "ocean_rewrite": rewrite, "file": path.name})
    return sorted(cases, key=lambda c: c["name"])


def first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else ""


def run_case(jq_module: Any, case: dict[str, Any]) -> dict[str, Any]:
    program = ocean_rewrite(case["expr"]) if case["ocean_rewrite"] else case["expr"]
    record: dict[str, Any] = {"name": case["name"], "expr": case["expr"]}
    if case["ocean_rewrite"]:
        record["ocean_rewrite"] = True
        record["rewritten_expr"] = program
    record["input"] = case["input"]
    try:
        compiled = jq_module.compile(program)
    except ValueError as err:
        record["error"] = True
        record["error_kind"] = "compile"
        record["error_message"] = first_line(str(err))
        return record
    try:
        outputs = compiled.input_value(case["input"]).all()
    except ValueError as err:
        record["error"] = True
        record["error_kind"] = "runtime"
        record["error_message"] = first_line(str(err))
        return record
    record["outputs"] = outputs
    return record


def render(libjq: str, records: list[dict[str, Any]]) -> str:
    document = {
        "generated_by": "scripts/jq-golden/generate.py",
        "jq": {"python_package": f"jq=={REQUIRED_JQ_PY}", "libjq": libjq},
        "count": len(records),
        "cases": records,
    }
    # No sort_keys: the key order of outputs is part of what the corpus pins.
    # allow_nan=False: jq never yields NaN/Infinity through jq.py; if it ever did, fail loudly.
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Generated corpora: the manual's examples, the builtin and syntax matrix, itemsToParse.


def serde_like(value: Any) -> Any:
    """The value as serde_json (without arbitrary precision) holds it: integers beyond i64/u64
    become doubles, so jq and the engine see the same input."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if INPUT_INT_MIN <= value <= INPUT_INT_MAX else float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [serde_like(v) for v in value]
    return {k: serde_like(v) for k, v in value.items()}


def load_manual_text(jq_repo: str | None) -> tuple[str, str]:
    """The manual's YAML at JQ_COMMIT and where it came from: a local clone of jqlang/jq when
    given (`--jq-repo` or $JQ_REPO, its tag checked against JQ_COMMIT), else GitHub."""
    import hashlib
    import os
    import subprocess

    repo = jq_repo or os.environ.get("JQ_REPO")
    if repo:
        git = ["git", "-C", repo]
        commit = subprocess.run(
            git + ["rev-parse", f"{JQ_TAG}^{{commit}}"], check=True, capture_output=True, text=True
        ).stdout.strip()
        if commit != JQ_COMMIT:
            raise SystemExit(f"{JQ_TAG} is {commit} in {repo}, expected {JQ_COMMIT}")
        text = subprocess.run(
            git + ["show", f"{JQ_COMMIT}:{MANUAL_PATH}"], check=True, capture_output=True, text=True
        ).stdout
    else:
        import urllib.request

        with urllib.request.urlopen(MANUAL_URL, timeout=60) as response:  # noqa: S310 (fixed URL)
            text = response.read().decode("utf-8")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def manual_examples(yaml_module: Any, text: str) -> list[dict[str, Any]]:
    """Every example of the manual, in order, with the title of its section."""
    examples: list[dict[str, Any]] = []

    def walk(node: Any, title: str) -> None:
        if isinstance(node, dict):
            title = node.get("title", title) if isinstance(node.get("title"), str) else title
            for example in node.get("examples") or []:
                examples.append({"section": title, **example})
            for key, child in node.items():
                if key != "examples":
                    walk(child, title)
        elif isinstance(node, list):
            for child in node:
                walk(child, title)

    walk(yaml_module.safe_load(text), "")
    return examples


def run_program(jq_module: Any, program: str, value: Any) -> dict[str, Any]:
    """jq's outputs of `program` on `value`, or its error."""
    try:
        compiled = jq_module.compile(program)
    except ValueError as err:
        return {"error": True, "error_kind": "compile", "error_message": first_line(str(err))}
    try:
        return {"outputs": compiled.input_value(value).all()}
    except ValueError as err:
        return {"error": True, "error_kind": "runtime", "error_message": first_line(str(err))}


def generated_case(jq_module: Any, name: str, expr: str, value: Any, **extra: Any) -> dict[str, Any]:
    """A case of a generated corpus; programs the single-quote rewrite changes run rewritten,
    as Ocean runs them."""
    record: dict[str, Any] = {"name": name, "expr": expr, **extra}
    program = ocean_rewrite(expr)
    if program != expr:
        record["ocean_rewrite"] = True
        record["rewritten_expr"] = program
    record["input"] = value
    result = run_program(jq_module, program, value)
    if "outputs" in result:
        # An integer beyond i64/u64 (jq.py gives `1e300` as an int) reads back as a double.
        result["outputs"] = serde_like(result["outputs"])
    record.update(result)
    return record


def manual_corpus(jq_module: Any, yaml_module: Any, jq_repo: str | None) -> dict[str, Any]:
    text, sha256 = load_manual_text(jq_repo)
    records: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for index, example in enumerate(manual_examples(yaml_module, text), start=1):
        program = example["program"]
        name = f"manual_{index:03}"
        try:
            value = json.loads(example["input"])
        except json.JSONDecodeError:
            skipped.append({"name": name, "expr": program, "reason": "the input is several JSON texts"})
            continue
        records.append(
            generated_case(
                jq_module,
                name,
                program,
                serde_like(value),
                section=example["section"],
                manual_input=example["input"],
                manual_outputs=list(example.get("output") or []),
            )
        )
    return {
        "source": {"repository": "https://github.com/jqlang/jq", "tag": JQ_TAG, "commit": JQ_COMMIT,
                   "path": MANUAL_PATH, "sha256": sha256},
        "skipped": skipped,
        "cases": records,
    }


def matrix_corpus(jq_module: Any) -> dict[str, Any]:
    import matrix  # next to this script

    listed = set(jq_module.compile("builtins").input_value(None).first())
    missing = sorted(listed - set(matrix.BUILTIN_CALLS))
    if missing:
        raise SystemExit(f"jq lists builtins the matrix does not call: {missing}; add them to matrix.py")
    inputs = [(text, json.loads(text)) for text in matrix.INPUTS]
    for text, value in inputs:
        check_input_numbers(value, f"matrix input {text}")
    records: list[dict[str, Any]] = []
    for group, program in matrix.programs():
        for text, value in inputs:
            records.append(generated_case(jq_module, f"{program} <- {text}", program, value, group=group))
        for literal in matrix.LITERAL_INPUTS:
            expr = f"{literal} | {program}"
            records.append(generated_case(jq_module, f"{program} <- {literal}", expr, None, group=group))
    return {"builtins_listed_by_jq": len(listed), "inputs": matrix.INPUTS,
            "literal_inputs": matrix.LITERAL_INPUTS, "cases": records}


def ocean_search(jq_module: Any, item: Any, expr: str) -> Any:
    """Ocean's `_search`: the first output of the rewritten program, `None` on an error or no
    output."""
    try:
        return jq_module.compile(ocean_rewrite(expr)).input_value(item).first()
    except Exception:  # noqa: BLE001 (Ocean turns every failure into None)
        return None


SIMPLE_PATH_RE = re.compile(r"(\.\w+|\.\[[^\]]+\])(\.\w+|\[[^\]]+\]|\.\[[^\]]+\])*")


def ocean_delete_target(expr: str) -> str | None:
    """The path Ocean's top-level transform deletes from the parent (reference §2.7): strip
    `( ... )` up to the first `)`, split on every `|`, skip `. as $x`, `.` and `$...` segments;
    the first segment that starts with `.word` or `.[...]` accessors gives them."""
    chain = expr.strip()
    if chain.startswith("("):
        inner = re.match(r"\((.*?)\)", chain, re.DOTALL)
        if inner is None:
            return None
        chain = inner.group(1).strip()
    for segment in (part.strip() for part in chain.split("|")):
        if re.match(r"^\.\s+as\s+\$\w+", segment) or segment == "." or segment.startswith("$"):
            continue
        found = SIMPLE_PATH_RE.match(segment)
        if found:
            return found.group(0).strip()
    return None


def ocean_items_to_parse(jq_module: Any, items: list[Any], expr: str, name: str, transform: bool) -> list[Any]:
    """What Ocean's `handle_items_to_parse` yields for `items`, all batches joined."""
    delete_program = f". | del({ocean_delete_target(expr) or '.'})"
    out: list[Any] = []
    for item in items:
        elements = ocean_search(jq_module, item, expr)
        if transform:
            item = ocean_search(jq_module, item, delete_program)
            if item is None:
                continue
        if not isinstance(elements, list):
            continue
        for element in elements:
            if not isinstance(item, dict):
                raise CorpusError(f"{expr}: the parent is not an object; Ocean would fail the resync")
            out.append({**item, name: element})
    return out


def items_corpus(jq_module: Any, yaml_module: Any) -> dict[str, Any]:
    doc = yaml_module.safe_load((HERE / "items_to_parse.yaml").read_text(encoding="utf-8"))
    parents = {key: parse_json_text(text, f"items_to_parse.yaml: parents {key}") for key, text in doc["parents"].items()}
    records: list[dict[str, Any]] = []
    for index, expr in enumerate(doc["expressions"]):
        for transform in (True, False):
            for parent_set, items in parents.items():
                for name in doc.get("names") or ["item"]:
                    records.append({
                        "name": f"{index:03}_{parent_set}_{name}_{'transform' if transform else 'keep'}",
                        "items_to_parse": expr,
                        "items_to_parse_name": name,
                        "top_level_transform": transform,
                        "delete_target": ocean_delete_target(expr),
                        "items": items,
                        "expanded": ocean_items_to_parse(jq_module, items, expr, name, transform),
                    })
    return {"cases": records}


def render_generated(libjq: str, what: str, body: dict[str, Any]) -> str:
    """A generated corpus, one case per line (the files are large; this keeps diffs readable)."""
    cases = body.pop("cases")
    head = {"generated_by": "scripts/jq-golden/generate.py", "what": what,
            "jq": {"python_package": f"jq=={REQUIRED_JQ_PY}", "libjq": libjq}, **body, "count": len(cases)}
    dump = lambda v: json.dumps(v, ensure_ascii=False, allow_nan=False)  # noqa: E731
    lines = [dump(case) for case in cases]
    head_text = json.dumps(head, indent=2, ensure_ascii=False, allow_nan=False)
    return head_text[:-2] + ',\n  "cases": [\n' + ",\n".join(lines) + "\n  ]\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed corpus is stale")
    parser.add_argument("--jq-repo", help="a clone of jqlang/jq to read the manual from (default $JQ_REPO, else GitHub)")
    args = parser.parse_args()
    try:
        import jq  # type: ignore[import-not-found]
        import yaml  # type: ignore[import-untyped]
    except ImportError as err:
        raise SystemExit(f"{err}; run `pip install -r scripts/jq-golden/requirements.txt`") from err
    libjq = check_jq_version(jq)
    sys.path.insert(0, str(HERE))
    try:
        cases = load_cases(yaml)
        records = [run_case(jq, case) for case in cases]
        outputs = {
            OUTPUT: render(libjq, records),
            MANUAL_OUTPUT: render_generated(libjq, "every example of the jq 1.8 manual", manual_corpus(jq, yaml, args.jq_repo)),
            MATRIX_OUTPUT: render_generated(libjq, "every jq 1.8 builtin and syntax form on inputs of every JSON type", matrix_corpus(jq)),
            ITEMS_OUTPUT: render_generated(libjq, "itemsToParse with Ocean's top-level transform", items_corpus(jq, yaml)),
        }
    except CorpusError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stale = 0
    for path, text in outputs.items():
        count = json.loads(text)["count"]
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                print(f"{path.relative_to(REPO)} is stale; rerun generate.py", file=sys.stderr)
                stale += 1
            else:
                print(f"{path.relative_to(REPO)} is up to date ({count} cases)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        errors = text.count('"error": true')
        print(f"wrote {count} cases ({errors} expected errors) to {path.relative_to(REPO)} with libjq {libjq}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
