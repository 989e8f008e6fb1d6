#!/usr/bin/env bash
# The baseline of the live-event benchmark: the same wrk run as the kit's bench_webhook.sh
# (`wrk -t2 -c64 -d10s --timeout 10s -s webhook.lua` against POST /integration/webhook), against
# the bare actix-web route of scripts/bench/bare-route (parse JSON, bounded channel, 202).
#
# Usage: scripts/bench/webhook-bare.sh [REPS=3]
# Environment: KIT (required: the benchmark kit directory, for webhook.lua), RESULTS (JSON lines appended; default
# scripts/bench/results/webhook-bare-<date>.jsonl), MAX_LOAD=1.5, WRK_THREADS=2 WRK_CONNS=64
# WRK_DURATION_S=10, PORT=8000.
# Build first (sharing the workspace target directory, so the dependencies are reused):
#   CARGO_TARGET_DIR=target cargo build --release --manifest-path scripts/bench/bare-route/Cargo.toml
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/bench/lib.sh
source "$REPO/scripts/bench/lib.sh"
KIT=${KIT:-$REPO/../shared/bench/ocean-anchor}
BARE=${BARE:-$REPO/target/release/bare-route}
RESULTS=${RESULTS:-$REPO/scripts/bench/results/webhook-bare-$(date -u +%Y%m%d).jsonl}
MAX_LOAD=${MAX_LOAD:-1.5}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-64}
WRK_DURATION_S=${WRK_DURATION_S:-10}
PORT=${PORT:-8000}
REPS=${1:-3}
PID=""

trap 'stop_pid "$PID"' EXIT INT TERM
stats() { curl -sf "http://127.0.0.1:$PORT/stats"; }
field() { sed -n "s/.*\"$1\":[[:space:]]*\([0-9]*\).*/\1/p"; }

[ -x "$BARE" ] || { echo "$BARE missing: CARGO_TARGET_DIR=target cargo build --release --manifest-path scripts/bench/bare-route/Cargo.toml" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }
mkdir -p "$(dirname "$RESULTS")"
OUT=$(mktemp -d /tmp/ocean-webhook-bare.XXXXXX)
for ((rep = 1; rep <= REPS; rep++)); do
  load=$(wait_for_quiet)
  APPLICATION__PORT=$PORT "$BARE" >"$OUT/r$rep.log" 2>&1 &
  PID=$!
  for ((i = 0; i < 100; i++)); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.1; done
  curl -sf -XPOST -H 'content-type: application/json' -d '{"person":{"id":"person-warmup"}}' \
    "http://127.0.0.1:$PORT/integration/webhook" >/dev/null
  log "rep $rep: wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_DURATION_S}s (load $load)"
  wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_DURATION_S}s" --timeout 10s -s "$KIT/webhook.lua" \
    "http://127.0.0.1:$PORT/integration/webhook" >"$OUT/r$rep.wrk.txt" 2>&1 || true
  t_wrk1=$(date +%s.%N)
  # Every event the route accepted is drained (wrk does not count its last in-flight requests).
  for ((i = 0; i < 600; i++)); do
    s=$(stats)
    [ "$(echo "$s" | field drained)" -ge "$(echo "$s" | field accepted)" ] && break
    sleep 0.01
  done
  t_drained=$(date +%s.%N)
  s=$(stats)
  hwm_kb=$(awk '$1=="VmHWM:" {print $2}' "/proc/$PID/status")
  ticks=$(awk '{print $14+$15}' "/proc/$PID/stat")
  stop_pid "$PID"
  PID=""
  wrkjson=$(grep '^RESULT ' "$OUT/r$rep.wrk.txt" | tail -1 | cut -d' ' -f2-)
  line=$(python3 - "$wrkjson" "$s" <<PY
import json, os, sys
w, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({
    "bench": "webhook", "target": "bare-route", "rep": $rep, "threads": $WRK_THREADS, "conns": $WRK_CONNS,
    "load1": $load, "duration_s": w["duration_s"], "rps": w["rps"], "requests": w["requests"],
    "accepted": w["requests"] - w["err_status"], "non_2xx": w["err_status"],
    "socket_errors": w["err_connect"] + w["err_read"] + w["err_write"] + w["err_timeout"],
    "lat_p50_ms": w["lat_p50_ms"], "lat_p90_ms": w["lat_p90_ms"], "lat_p99_ms": w["lat_p99_ms"],
    "lat_max_ms": w["lat_max_ms"], "route_accepted": s["accepted"] - 1, "route_rejected_full": s["rejected_full"],
    "drained": s["drained"] - 1, "drain_s": round($t_drained - $t_wrk1, 3),
    "peak_rss_mb": round($hwm_kb / 1024, 1), "cpu_s": round($ticks / os.sysconf("SC_CLK_TCK"), 2),
}))
PY
)
  echo "RESULT $line"
  echo "$line" >>"$RESULTS"
done
