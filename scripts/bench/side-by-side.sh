#!/usr/bin/env bash
# Python Ocean and bench-anchor under the benchmark kit's own harness, in one sitting and
# interleaved: for each rep and size, one Python rep, then right after it one Rust rep. The wait
# for a quiet machine comes before each pair (waiting again between the two would mostly wait
# out the load of the Python run itself); the load before each run is recorded. All result lines go to one results.jsonl (the kit's `target` field tells them
# apart); the 1-minute load before each rep goes to loads.jsonl beside it.
#
# Usage: scripts/bench/side-by-side.sh resync [REPS=3] [N ...]    (default N: 10000 50000)
#        scripts/bench/side-by-side.sh webhook [PY_REPS=1] [RUST_REPS=3]
#
# Environment:
#   KIT=../shared/bench/ocean-anchor   the kit (next to the repository) (read-only; never edited)
#   OUT=$HOME/ocean-anchor/runs/side-by-side-<UTC time>   logs and results
#   BIN=target/release   where bench-anchor is
#   MAX_LOAD=1.5         wait (every 20 s, at most 10 min) until the 1-minute load is below this
#   SKIP_PYTHON=1        Rust only
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/bench/lib.sh
source "$REPO/scripts/bench/lib.sh"
KIT=${KIT:-$REPO/../shared/bench/ocean-anchor}
BIN=${BIN:-$REPO/target/release}
MAX_LOAD=${MAX_LOAD:-1.5}
OUT=${OUT:-$HOME/ocean-anchor/runs/side-by-side-$(date -u +%Y%m%dT%H%M%SZ)}
RESULTS=$OUT/results.jsonl
LOADS=$OUT/loads.jsonl
mkdir -p "$OUT"


# target bench N rep: one kit run of one rep, its load recorded
kit_run() {
  local target=$1 bench=$2 n=$3 rep=$4 load dir
  load=$(load1)
  dir=$OUT/$target-$bench-$n-r$rep
  mkdir -p "$dir"
  echo "{\"target\":\"$target\",\"bench\":\"$bench\",\"n\":$n,\"rep\":$rep,\"load1\":$load,\"at\":\"$(date -u +%H:%M:%S)\"}" >>"$LOADS"
  log "$target $bench n=$n rep $rep (load $load)"
  local script=bench_resync.sh args=("$n" 1)
  [ "$bench" = webhook ] && script=bench_webhook.sh && args=(1)
  if [ "$target" = rust ]; then
    RUNS_DIR=$dir RESULTS=$RESULTS TARGET_NAME=rust TARGET_CMD="$BIN/bench-anchor" \
      "$KIT/$script" "${args[@]}"
  else
    RUNS_DIR=$dir RESULTS=$RESULTS "$KIT/$script" "${args[@]}"
  fi
}

[ -x "$BIN/bench-anchor" ] || { echo "$BIN/bench-anchor missing: cargo build --release -p bench-anchor" >&2; exit 1; }
mode=${1:?usage: side-by-side.sh resync|webhook ...}
shift
case $mode in
resync)
  reps=${1:-3}
  shift || true
  sizes=("$@")
  [ ${#sizes[@]} -gt 0 ] || sizes=(10000 50000)
  for ((rep = 1; rep <= reps; rep++)); do
    for n in "${sizes[@]}"; do
      wait_for_quiet >/dev/null
      [ -n "${SKIP_PYTHON:-}" ] || kit_run python resync "$n" "$rep"
      kit_run rust resync "$n" "$rep"
    done
  done
  ;;
webhook)
  py_reps=${1:-1}
  rust_reps=${2:-3}
  for ((rep = 1; rep <= rust_reps || rep <= py_reps; rep++)); do
    wait_for_quiet >/dev/null
    [ -n "${SKIP_PYTHON:-}" ] || [ "$rep" -gt "$py_reps" ] || kit_run python webhook 0 "$rep"
    [ "$rep" -gt "$rust_reps" ] || kit_run rust webhook 0 "$rep"
  done
  ;;
*)
  echo "unknown mode $mode (resync or webhook)" >&2
  exit 2
  ;;
esac
python3 "$KIT/summarize.py" "$RESULTS" --markdown
echo
echo "results: $RESULTS"
echo "loads:   $LOADS"
