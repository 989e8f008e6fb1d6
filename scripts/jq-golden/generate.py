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
OUTPUT = REPO / "ocean-core" / "tests" / "jq_golden" / "cases.json"

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed cases.json is stale")
    args = parser.parse_args()
    try:
        import jq  # type: ignore[import-not-found]
        import yaml  # type: ignore[import-untyped]
    except ImportError as err:
        raise SystemExit(f"{err}; run `pip install -r scripts/jq-golden/requirements.txt`") from err
    libjq = check_jq_version(jq)
    try:
        cases = load_cases(yaml)
    except CorpusError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    records = [run_case(jq, case) for case in cases]
    text = render(libjq, records)
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(REPO)} is stale; rerun generate.py", file=sys.stderr)
            return 1
        print(f"{OUTPUT.relative_to(REPO)} is up to date ({len(records)} cases)")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    errors = sum(1 for r in records if r.get("error"))
    print(f"wrote {len(records)} cases ({errors} expected errors) to {OUTPUT.relative_to(REPO)} with libjq {libjq}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
