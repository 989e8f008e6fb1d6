#!/usr/bin/env bash
# Mapping throughput, ours against jq, on the same 10,000 Jira-like issues and the same mapping
# (Ocean's Jira `issue` mapping, ocean-core/tests/fixtures/jira-issue-mapping.yml).
#
# Usage: scripts/bench/mapping-vs-jq.sh
#
# 1. The mapping bench writes its issues and the mapping's expressions (one generator, in
#    ocean-core/benches/mapping.rs): OCEAN_MAPPING_BENCH_DUMP.
# 2. The same bench maps them ROUNDS times on one thread and ROUNDS times across the mapping
#    pool, reporting wall and CPU time: OCEAN_MAPPING_BENCH_ROUNDS.
# 3. mapping_vs_jq.py times jq.py (libjq 1.8, the way Python Ocean runs a mapping) and the jq
#    CLI on the dumped issues, checks that both give the same entities, and prints the table.
#
# Environment:
#   ROUNDS=5          rounds of 10,000 issues per mode of our engine
#   CRITERION=0       1 also runs the criterion benchmark (`cargo bench --bench mapping`)
#   MAX_LOAD=1.5      wait (polling every 15 s, at most 5 min) until the 1-minute load average
#                     is below this before measuring
#   JQ=/usr/bin/jq    the jq CLI to time
#   RESULTS=scripts/bench/results/mapping-vs-jq-<date>.jsonl   one JSON line per row appended
#   WORK=...          where the issues are written (default: a fresh directory under /tmp)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-5}
CRITERION=${CRITERION:-0}
MAX_LOAD=${MAX_LOAD:-1.5}
RESULTS=${RESULTS:-$REPO/scripts/bench/results/mapping-vs-jq-$(date -u +%Y%m%d).jsonl}
WORK=${WORK:-$(mktemp -d /tmp/ocean-mapping-bench.XXXXXX)}

cd "$REPO"

wait_quiet() {
  local waited=0
  while awk -v max="$MAX_LOAD" '{ exit !($1 >= max) }' /proc/loadavg && [ "$waited" -lt 300 ]; do
    echo "load $(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD, waiting" >&2
    sleep 15
    waited=$((waited + 15))
  done
}

echo "building the mapping bench" >&2
cargo bench -q -p ocean-core --bench mapping --no-run >&2

OCEAN_MAPPING_BENCH_DUMP="$WORK" cargo bench -q -p ocean-core --bench mapping >&2

wait_quiet
OCEAN_MAPPING_BENCH_ROUNDS="$ROUNDS" cargo bench -q -p ocean-core --bench mapping \
  | grep '^{' >"$WORK/ours.jsonl"

if [ "$CRITERION" = 1 ]; then
  wait_quiet
  cargo bench -p ocean-core --bench mapping >&2
fi

wait_quiet
python3 "$REPO/scripts/bench/mapping_vs_jq.py" "$WORK" "$RESULTS"
echo "issues and raw lines: $WORK; results appended to $RESULTS" >&2
