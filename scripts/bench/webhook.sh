#!/usr/bin/env bash
# Live-event load benchmark: wrk against the fake integration's `POST /integration/webhook`
# (WEBHOOKS_ONLY listener) writing into the local Port (`ocean port-emulator`, its own process),
# and, in the same run, against the bare actix-web route of scripts/bench/bare-route (parse the
# JSON, put it on a bounded channel, 202): the ceiling of this machine under the same load.
#
# Usage: scripts/bench/webhook.sh [REPS=3]
#
# Per rep: a fresh local Port and integration; one warm-up event (token, config, first
# upsert); `wrk -t2 -c64 -d10s --timeout 10s -s scripts/bench/webhook-person.lua` (a ~490-byte
# `person.updated` event, a distinct person per request); then the local Port's entity count is
# polled every 10 ms until every event the integration accepted (its `/metrics` counter, which
# also counts the requests wrk did not finish timing) is a `fake-person` entity. Then the same
# wrk run against the bare route.
#
# Environment:
#   BIN=target/release        where `ocean` and `fake-integration` are
#   BARE=target/release/bare-route
#   WRK_THREADS=2 WRK_CONNS=64 WRK_DURATION_S=10
#   MAX_LOAD=1.5              wait (every 20 s, at most 10 min) for a quieter machine first
#   DRAIN_MAX_S=120           give up waiting for Port after this long
#   EXTRA_ENV="K=V ..."       more environment for the integration (e.g. OCEAN__EVENT_WORKERS_COUNT=2)
#   RESULTS=scripts/bench/results/webhook-<date>.jsonl   JSON lines appended
# Build first:
#   cargo build --release -p fake-integration -p ocean-cli-template
#   CARGO_TARGET_DIR=target cargo build --release --manifest-path scripts/bench/bare-route/Cargo.toml
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/bench/lib.sh
source "$REPO/scripts/bench/lib.sh"
BIN=${BIN:-$REPO/target/release}
BARE=${BARE:-$REPO/target/release/bare-route}
LUA=$REPO/scripts/bench/webhook-person.lua
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-64}
WRK_DURATION_S=${WRK_DURATION_S:-10}
MAX_LOAD=${MAX_LOAD:-1.5}
DRAIN_MAX_S=${DRAIN_MAX_S:-120}
EXTRA_ENV=${EXTRA_ENV:-}
RESULTS=${RESULTS:-$REPO/scripts/bench/results/webhook-$(date -u +%Y%m%d).jsonl}
REPS=${1:-3}
PORT_ADDR=127.0.0.1:5556
APP_PORT=8011
BARE_PORT=8012
CLIENT_ID=bench-client-id
CLIENT_SECRET=bench-client-secret
PIDS=()

cleanup() { local p; for p in "${PIDS[@]}"; do stop_pid "$p"; done; PIDS=(); }
trap cleanup EXIT INT TERM
wait_http() { # url pid
  local i
  for ((i = 0; i < 200; i++)); do
    # Answered, and by our process: a leftover server on the same port must not be measured.
    curl -s -o /dev/null "$1" && { sleep 0.2; kill -0 "$2" 2>/dev/null; } && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "nothing answers on $1" >&2
  exit 1
}
persons() { curl -sf "http://$PORT_ADDR/_local/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entities"].get("fake-person", 0))'; }
metric() { # name -> value from the integration's /metrics
  curl -sf "http://127.0.0.1:$APP_PORT/metrics" | awk -v m="$1" '$1 ~ "^"m {v=$2} END {print v+0}'
}
run_wrk() { # url out
  timeout -k 5 $((WRK_DURATION_S + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_DURATION_S}s" \
    --timeout 10s -s "$LUA" "$1" >"$2" 2>&1 || true
  grep '^RESULT ' "$2" | tail -1 | cut -d' ' -f2-
}

for bin in "$BIN/ocean" "$BIN/fake-integration" "$BARE"; do
  [ -x "$bin" ] || { echo "$bin missing (see the build commands at the top of $0)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install -y wrk)" >&2; exit 1; }
mkdir -p "$(dirname "$RESULTS")"
OUT=$(mktemp -d /tmp/ocean-webhook-bench.XXXXXX)
log "logs in $OUT; results appended to $RESULTS"

for ((rep = 1; rep <= REPS; rep++)); do
  # --- Ocean for Rust: fake integration + local Port ---
  load=$(wait_for_quiet)
  env OCEAN__PORT__CLIENT_ID=$CLIENT_ID OCEAN__PORT__CLIENT_SECRET=$CLIENT_SECRET \
    "$BIN/ocean" port-emulator --listen "$PORT_ADDR" >"$OUT/r$rep.port.log" 2>&1 &
  port_pid=$!
  PIDS+=("$port_pid")
  wait_http "http://$PORT_ADDR/_local/stats" "$port_pid"
  # shellcheck disable=SC2086
  env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 \
    OCEAN__PORT__BASE_URL="http://$PORT_ADDR" \
    OCEAN__PORT__CLIENT_ID=$CLIENT_ID OCEAN__PORT__CLIENT_SECRET=$CLIENT_SECRET \
    OCEAN__EVENT_LISTENER__TYPE=WEBHOOKS_ONLY \
    OCEAN__INTEGRATION__IDENTIFIER=bench-fake OCEAN__INTEGRATION__TYPE=fake-integration \
    APPLICATION__LOG_LEVEL=INFO $EXTRA_ENV \
    "$BIN/fake-integration" --port "$APP_PORT" >"$OUT/r$rep.app.out" 2>"$OUT/r$rep.app.log" &
  app_pid=$!
  PIDS+=("$app_pid")
  wait_http "http://127.0.0.1:$APP_PORT/health/ready" "$app_pid"
  curl -sf -XPOST -H 'content-type: application/json' \
    -d '{"type":"person.updated","person":{"id":"person-warmup","name":"Warm Up","email":"w@bench.example.com","department_id":"dept-1","status":"WORKING","age":30}}' \
    "http://127.0.0.1:$APP_PORT/integration/webhook" >/dev/null
  for ((i = 0; i < 300; i++)); do [ "$(persons)" -ge 1 ] && break; sleep 0.05; done
  base=$(persons)
  rss_before_kb=$(proc_kb "$app_pid" VmRSS)
  log "rep $rep: rust: wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_DURATION_S}s (load $load)"
  t0=$(date +%s.%N)
  wrkjson=$(run_wrk "http://127.0.0.1:$APP_PORT/integration/webhook" "$OUT/r$rep.rust.wrk.txt")
  t1=$(date +%s.%N)
  during=$(( $(persons) - base ))
  accepted=$(( $(metric live_events_accepted_total) - 1 ))
  t_done=""
  while :; do
    now=$(date +%s.%N)
    if [ $(( $(persons) - base )) -ge "$accepted" ]; then t_done=$now; break; fi
    below "$DRAIN_MAX_S" "$(awk -v a="$t1" -v b="$now" 'BEGIN{print b-a}')" && break
    sleep 0.01
  done
  in_port=$(( $(persons) - base ))
  dead=$(metric live_events_dead_lettered_total)
  hwm_kb=$(proc_kb "$app_pid" VmHWM)
  app_cpu=$(cpu_s "$app_pid")
  port_cpu=$(cpu_s "$port_pid")
  cleanup
  rust=$(python3 - "$wrkjson" <<PY
import json, sys
w = json.loads(sys.argv[1])
t0, t1, t_done = $t0, $t1, ${t_done:-None}
accepted = $accepted
print(json.dumps({"bench": "webhook", "target": "ocean-rust", "rep": $rep, "load1": $load,
  "requests": w["requests"], "non_2xx": w["err_status"], "rps": w["rps"],
  "accepted": accepted, "accepted_per_s": round(accepted / w["duration_s"], 1),
  "lat_p50_ms": w["lat_p50_ms"], "lat_p90_ms": w["lat_p90_ms"], "lat_p99_ms": w["lat_p99_ms"],
  "lat_max_ms": w["lat_max_ms"], "in_port_during_load": $during, "in_port": $in_port,
  "dead_lettered": $dead,
  "drain_s": round(t_done - t1, 3) if t_done else None,
  "peak_rss_mb": round($hwm_kb / 1024, 1), "rss_before_mb": round(${rss_before_kb:-0} / 1024, 1),
  "cpu_s": $app_cpu, "port_cpu_s": $port_cpu, "extra_env": "$EXTRA_ENV"}))
PY
)
  echo "$rust" >>"$RESULTS"
  echo "$rust"

  # --- the bare route ---
  load=$(wait_for_quiet)
  APPLICATION__PORT=$BARE_PORT "$BARE" >"$OUT/r$rep.bare.log" 2>&1 &
  bare_pid=$!
  PIDS+=("$bare_pid")
  wait_http "http://127.0.0.1:$BARE_PORT/health/live" "$bare_pid"
  log "rep $rep: bare route: wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_DURATION_S}s (load $load)"
  wrkjson=$(run_wrk "http://127.0.0.1:$BARE_PORT/integration/webhook" "$OUT/r$rep.bare.wrk.txt")
  hwm_kb=$(proc_kb "$bare_pid" VmHWM)
  bare_cpu=$(cpu_s "$bare_pid")
  cleanup
  bare=$(python3 - "$wrkjson" <<PY
import json, sys
w = json.loads(sys.argv[1])
print(json.dumps({"bench": "webhook", "target": "bare-route", "rep": $rep, "load1": $load,
  "requests": w["requests"], "non_2xx": w["err_status"], "rps": w["rps"],
  "accepted_per_s": round((w["requests"] - w["err_status"]) / w["duration_s"], 1),
  "lat_p50_ms": w["lat_p50_ms"], "lat_p90_ms": w["lat_p90_ms"], "lat_p99_ms": w["lat_p99_ms"],
  "lat_max_ms": w["lat_max_ms"], "peak_rss_mb": round($hwm_kb / 1024, 1), "cpu_s": $bare_cpu}))
PY
)
  echo "$bare" >>"$RESULTS"
  echo "$bare"
  python3 - "$rust" "$bare" <<'PY'
import json, sys
r, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"rep {r['rep']}: accepted {r['accepted_per_s']:,.0f}/s = {100 * r['accepted_per_s'] / b['accepted_per_s']:.0f}% of the bare route's "
      f"{b['accepted_per_s']:,.0f}/s; p99 {r['lat_p99_ms']} ms (bare {b['lat_p99_ms']} ms); "
      f"drained {r['drain_s']} s after the load; {r['in_port']:,} of {r['accepted']:,} in Port, {r['dead_lettered']} dead-lettered")
PY
done
