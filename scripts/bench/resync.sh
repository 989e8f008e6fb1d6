#!/usr/bin/env bash
# Resync benchmark: the fake integration (ONCE listener) into a standalone Port in its own
# process, so the integration's peak RSS is its own.
#
# Usage: scripts/bench/resync.sh [N ...]          (default: 10000 100000 1000000)
#
# N persons = DEPARTMENTS departments x N/DEPARTMENTS persons, plus the DEPARTMENTS department
# entities. Per size: wait for a quiet machine, start a fresh Port, run
# `fake-integration` under /usr/bin/time -v, read the Port's own peak RSS from /proc, stop it.
#
# Environment:
#   PORT_KIND=emulator   `ocean port-emulator` (the local Port), or `fake-port`: the benchmark
#                        kit's fake_port.py (stdlib Python; its search always answers "no
#                        entities", so it costs O(1) per lookup at any size)
#   KIT                  the benchmark kit directory, bench/ocean-anchor (required for
#                        PORT_KIND=fake-port)
#   DEPARTMENTS=10 BATCH_SIZE=1000 PAYLOAD_KB=1 REPS=1
#   MAX_LOAD=1.5         wait (polling every 20 s, at most 10 min) until the 1-minute load
#                        average is below this before each run
#   TIMEOUT_S=3600       longest a single run may take
#   RESULTS=scripts/bench/results/resync-<date>.jsonl   one JSON line per run is appended
#   RUN_DIR=...          logs of every run (default: a fresh directory under /tmp)
#   BIN=target/release   where `ocean` and `fake-integration` are
#   INTEGRATION_ENV=""   extra VAR=value words for the integration's environment, e.g.
#                        "MALLOC_ARENA_MAX=1" (recorded in the JSON line as `env`)
#   RSS_TIMELINE=0       1: sample the integration's VmRSS every 0.25 s into
#                        $RUN_DIR/<tag>.rss.tsv (unix time, kB)
#
# Prints one markdown table row per run as it goes and the whole table at the end.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/bench/lib.sh
source "$REPO/scripts/bench/lib.sh"
BIN=${BIN:-$REPO/target/release}
PORT_KIND=${PORT_KIND:-emulator}
KIT=${KIT:-$REPO/../shared/bench/ocean-anchor}
DEPARTMENTS=${DEPARTMENTS:-10}
BATCH_SIZE=${BATCH_SIZE:-1000}
PAYLOAD_KB=${PAYLOAD_KB:-1}
REPS=${REPS:-1}
MAX_LOAD=${MAX_LOAD:-1.5}
TIMEOUT_S=${TIMEOUT_S:-3600}
PORT_ADDR=${PORT_ADDR:-127.0.0.1:5555}
RESULTS=${RESULTS:-$REPO/scripts/bench/results/resync-$(date -u +%Y%m%d).jsonl}
RUN_DIR=${RUN_DIR:-$(mktemp -d /tmp/ocean-resync-bench.XXXXXX)}
INTEGRATION_ENV=${INTEGRATION_ENV:-}
RSS_TIMELINE=${RSS_TIMELINE:-0}
read -r -a EXTRA_ENV <<<"$INTEGRATION_ENV"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 1000000)

CLIENT_ID=bench-client-id
CLIENT_SECRET=bench-client-secret
PORT_PID=""


trap 'stop_pid "$PORT_PID" 5' EXIT INT TERM




start_port() { # logfile
  if [ "$PORT_KIND" = emulator ]; then
    env OCEAN__PORT__CLIENT_ID=$CLIENT_ID OCEAN__PORT__CLIENT_SECRET=$CLIENT_SECRET \
      "$BIN/ocean" port-emulator --listen "$PORT_ADDR" >"$1" 2>&1 &
  else
    [ -n "$KIT" ] || { echo "PORT_KIND=fake-port needs KIT (the benchmark kit directory)" >&2; exit 1; }
    python3 "$KIT/fake_port.py" --host "${PORT_ADDR%:*}" --port "${PORT_ADDR##*:}" >"$1" 2>&1 &
  fi
  PORT_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    # Any HTTP answer (even 404) means it listens.
    curl -s -o /dev/null "http://$PORT_ADDR/_health" && return 0
    kill -0 "$PORT_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the Port did not start (see $1)" >&2
  exit 1
}

sample_rss() { # timeout_pid file: VmRSS of the integration (timeout -> time -> integration)
  local pid="" p i
  for ((i = 0; i < 100; i++)); do
    [ -z "$pid" ] || break
    for p in $(pgrep -P "$(pgrep -P "$1" | head -1)" 2>/dev/null); do
      [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$BIN/fake-integration")" ] && pid=$p
    done
    [ -n "$pid" ] || sleep 0.05
  done
  [ -n "$pid" ] || return 0
  printf 'unix_s\tvmrss_kb\n' >"$2"
  while kill -0 "$pid" 2>/dev/null; do
    printf '%s\t%s\n' "$(date +%s.%N)" "$(proc_kb "$pid" VmRSS)" >>"$2"
    sleep 0.25
  done
}

time_field() { # file label
  sed -n "s/^[[:space:]]*$2:[[:space:]]*//p" "$1" | head -1
}

for bin in "$BIN/ocean" "$BIN/fake-integration"; do
  [ -x "$bin" ] || { echo "$bin missing: cargo build --release -p fake-integration -p ocean-cli-template" >&2; exit 1; }
done
mkdir -p "$(dirname "$RESULTS")" "$RUN_DIR"
log "logs in $RUN_DIR; results appended to $RESULTS"

ROWS=()
HEADER="| persons | port | load (1 min) | wall s | resync s | entities/s (resync) | integration peak RSS MB | integration CPU s | Port peak RSS MB | Port CPU s | upserted | ok |
|---|---|---|---|---|---|---|---|---|---|---|---|"
echo "$HEADER"
for n in "${SIZES[@]}"; do
  per_dept=$(((n + DEPARTMENTS - 1) / DEPARTMENTS))
  persons=$((per_dept * DEPARTMENTS))
  for ((rep = 1; rep <= REPS; rep++)); do
    tag="resync_${persons}_${PORT_KIND}_r${rep}"
    load=$(wait_for_quiet)
    start_port "$RUN_DIR/$tag.port.log"
    log "$tag: $DEPARTMENTS departments x $per_dept persons, batch $BATCH_SIZE, load $load"
    t0=$(date +%s.%N)
    set +e
    timeout -k 10 "$TIMEOUT_S" /usr/bin/time -v -o "$RUN_DIR/$tag.time.txt" \
      env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 ${EXTRA_ENV[@]+"${EXTRA_ENV[@]}"} \
      OCEAN__PORT__BASE_URL="http://$PORT_ADDR" \
      OCEAN__PORT__CLIENT_ID=$CLIENT_ID OCEAN__PORT__CLIENT_SECRET=$CLIENT_SECRET \
      OCEAN__EVENT_LISTENER__TYPE=ONCE \
      OCEAN__INTEGRATION__IDENTIFIER=bench-fake OCEAN__INTEGRATION__TYPE=fake-integration \
      OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT="$DEPARTMENTS" \
      OCEAN__INTEGRATION__CONFIG__PERSONS_PER_DEPARTMENT="$per_dept" \
      OCEAN__INTEGRATION__CONFIG__PAYLOAD_KB="$PAYLOAD_KB" \
      OCEAN__INTEGRATION__CONFIG__BATCH_SIZE="$BATCH_SIZE" \
      APPLICATION__LOG_LEVEL=INFO \
      "$BIN/fake-integration" --port 0 >"$RUN_DIR/$tag.out" 2>"$RUN_DIR/$tag.log" &
    run_pid=$!
    [ "$RSS_TIMELINE" = 1 ] && sample_rss "$run_pid" "$RUN_DIR/$tag.rss.tsv" &
    wait "$run_pid"
    rc=$?
    set -e
    t1=$(date +%s.%N)
    port_hwm_kb=$(proc_kb "$PORT_PID" VmHWM)
    port_cpu=$(cpu_s "$PORT_PID")
    stop_pid "$PORT_PID" 10
    PORT_PID=""
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
    # The runtime logs `Resync completed status="completed" seconds=12.3`.
    resync_s=$(sed -n 's/.*Resync completed.* seconds=\([0-9.]*\).*/\1/p' "$RUN_DIR/$tag.log" | tail -1)
    resync_s=${resync_s:-null}
    # The summary table on stdout: `fake-person  fetched mapped filtered upserted failed errors`.
    upserted=$(awk '$1=="fake-person" {print $5}' "$RUN_DIR/$tag.out")
    upserted=${upserted:-0}
    rss_kb=$(time_field "$RUN_DIR/$tag.time.txt" "Maximum resident set size (kbytes)")
    user=$(time_field "$RUN_DIR/$tag.time.txt" "User time (seconds)")
    sys=$(time_field "$RUN_DIR/$tag.time.txt" "System time (seconds)")
    entities=$((persons + DEPARTMENTS))
    ok=false
    [ "$rc" = 0 ] && [ "$upserted" = "$persons" ] && ok=true
    line=$(python3 - "$tag" <<PY
import json
resync = $resync_s
print(json.dumps({
    "bench": "resync-fake-integration", "port": "$PORT_KIND", "persons": $persons,
    "departments": $DEPARTMENTS, "entities": $entities, "batch": $BATCH_SIZE, "payload_kb": $PAYLOAD_KB,
    "rep": $rep, "rc": $rc, "ok": "$ok" == "true", "load1": $load, "wall_s": $wall,
    "resync_s": resync,
    "entities_per_s": round($entities / resync) if resync else None,
    "entities_per_s_wall": round($entities / $wall),
    "max_rss_mb": round(${rss_kb:-0} / 1024, 1), "cpu_s": round(${user:-0} + ${sys:-0}, 2),
    "port_peak_rss_mb": round(${port_hwm_kb:-0} / 1024, 1), "port_cpu_s": $port_cpu,
    "upserted": $upserted, "env": "$INTEGRATION_ENV", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
}))
PY
)
    echo "$line" >>"$RESULTS"
    row=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
eps = r["entities_per_s"]
print("| {:,} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:,} | {} |".format(
    r["persons"], r["port"], r["load1"], r["wall_s"], r["resync_s"],
    "{:,}".format(eps) if eps else "-", r["max_rss_mb"], r["cpu_s"],
    r["port_peak_rss_mb"], r["port_cpu_s"], r["upserted"], "yes" if r["ok"] else "NO (rc %d)" % r["rc"]))
' "$line")
    ROWS+=("$row")
    echo "$row"
  done
done
echo
echo "$HEADER"
printf '%s\n' "${ROWS[@]}"
