#!/usr/bin/env python3
"""Times jq on the mapping benchmark's work and prints one table with our engine's numbers.

Usage: mapping_vs_jq.py DIR [RESULTS]

DIR holds what the mapping bench wrote (OCEAN_MAPPING_BENCH_DUMP): issues.jsonl and
mapping.json, and ours.jsonl, the bench's OCEAN_MAPPING_BENCH_ROUNDS lines. This script runs:

- jq.py (PyPI `jq`, bundling libjq 1.8) the way Python Ocean applies a mapping: every
  expression compiled once, then run on each issue with `input_value(issue).first()`; the
  entity dict is assembled as Ocean does (selector first, then each field);
- the `jq` CLI in one process over issues.jsonl, with the mapping as one object-building
  program (`select(selector) | {identifier: ..., properties: {...}, ...}`), output discarded;
  it includes parsing the JSON text and printing the result, which jq.py pays too (it
  serialises every input for libjq);
- the `jq` CLI with `.` on the same file, the cost of parsing and printing alone.

Each row records the 1-minute load average read just before it ran. With RESULTS, one JSON
line per row is appended there.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import time


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def read_issues(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def set_path(entity, field, value):
    """Puts `value` at a dotted mapping field path (`properties.url`)."""
    parts = field.split(".")
    for part in parts[:-1]:
        entity = entity.setdefault(part, {})
    entity[parts[-1]] = value


def time_jq_py(issues, fields):
    import jq

    selector = next(f["expr"] for f in fields if f["field"] == "selector")
    mapped = [(f["field"], jq.compile(f["expr"])) for f in fields if f["field"] != "selector"]
    select = jq.compile(selector)
    load = load1()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    entities = []
    for issue in issues:
        if select.input_value(issue).first() is not True:
            continue
        entity = {}
        for field, program in mapped:
            set_path(entity, field, program.input_value(issue).first())
        entities.append(entity)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert len(entities) == len(issues), "every issue passes the selector"
    version = getattr(jq, "__version__", None)
    if version is None:
        from importlib.metadata import version as pkg_version

        version = pkg_version("jq")
    return {
        "engine": f"jq.py {version} (libjq 1.8), per expression as Ocean does",
        "items": len(issues),
        "wall_s": wall,
        "cpu_s": cpu,
        "load1": load,
    }, entities


def object_program(fields):
    """The mapping as one jq program building the entity."""
    selector = next(f["expr"] for f in fields if f["field"] == "selector")
    top, nested = [], {}
    for f in fields:
        if f["field"] == "selector":
            continue
        if "." in f["field"]:
            group, name = f["field"].split(".", 1)
            nested.setdefault(group, []).append((name, f["expr"]))
        else:
            top.append((f["field"], f["expr"]))
    parts = [f"{json.dumps(k)}: ({e})" for k, e in top]
    for group, entries in nested.items():
        inner = ", ".join(f"{json.dumps(k)}: ({e})" for k, e in entries)
        parts.append(f"{json.dumps(group)}: {{{inner}}}")
    return f"select({selector}) | {{{', '.join(parts)}}}"


def time_cli(jq_bin, program, issues_path, items, label):
    load = load1()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    with open(issues_path, "rb") as stdin:
        done = subprocess.run(
            [jq_bin, "-c", program], stdin=stdin, stdout=subprocess.PIPE, check=True
        )
    wall = time.perf_counter() - wall0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = done.stdout.count(b"\n")
    assert lines == items, f"jq printed {lines} lines for {items} issues"
    return {"engine": label, "items": items, "wall_s": wall, "cpu_s": cpu, "load1": load}, done.stdout


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    work = sys.argv[1]
    results = sys.argv[2] if len(sys.argv) > 2 else None
    with open(os.path.join(work, "mapping.json")) as f:
        fields = json.load(f)["fields"]
    issues_path = os.path.join(work, "issues.jsonl")
    issues = read_issues(issues_path)

    rows = []
    with open(os.path.join(work, "ours.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            label = {
                "single_thread": "ours, map_batch (1 thread)",
                "parallel": f"ours, map_batch_parallel ({os.cpu_count()} cores)",
            }[r["mode"]]
            rows.append({
                "engine": label, "items": r["items"], "wall_s": r["wall_s"],
                "cpu_s": r["cpu_s"], "load1": r.get("load1"),
            })

    row, py_entities = time_jq_py(issues, fields)
    rows.append(row)

    jq_bin = os.environ.get("JQ", shutil.which("jq") or "/usr/bin/jq")
    version = subprocess.run([jq_bin, "--version"], capture_output=True, text=True).stdout.strip()
    program = object_program(fields)
    row, out = time_cli(jq_bin, program, issues_path, len(issues), f"{version} CLI, one process")
    rows.append(row)
    # The CLI must compute what jq.py computed (same mapping, same issues).
    cli_entities = [json.loads(line) for line in out.splitlines()]
    assert cli_entities == py_entities, "jq CLI and jq.py disagree on the entities"
    row, _ = time_cli(jq_bin, ".", issues_path, len(issues), f"{version} CLI, `.` only (parse + print)")
    rows.append(row)

    ours = next(r for r in rows if r["engine"].startswith("ours, map_batch ("))
    ours_cpu_rate = ours["items"] / ours["cpu_s"] if ours["cpu_s"] else None
    print(f"\n{len(issues)} issues, {len(fields) - 1} mapping expressions plus the selector "
          f"(load before each row in the table)\n")
    print("| engine | items | load (1 min) | wall s | CPU s | items/s (wall) | items per CPU-s | ours (1 thread) is x faster per CPU-s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        rate = r["items"] / r["wall_s"]
        cpu_rate = r["items"] / r["cpu_s"] if r["cpu_s"] else None
        ratio = ours_cpu_rate / cpu_rate if ours_cpu_rate and cpu_rate else None
        load = f"{r['load1']:.2f}" if r.get("load1") is not None else "-"
        print(f"| {r['engine']} | {r['items']:,} | {load} | {r['wall_s']:.3f} | "
              f"{r['cpu_s']:.3f} | {rate:,.0f} | "
              f"{'-' if cpu_rate is None else f'{cpu_rate:,.0f}'} | "
              f"{'-' if ratio is None else f'{ratio:,.1f}'} |")
        r["items_per_s"] = rate
        r["items_per_cpu_s"] = cpu_rate
    if results:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(results, "a") as f:
            for r in rows:
                f.write(json.dumps({"date": stamp, **r}) + "\n")


if __name__ == "__main__":
    main()
