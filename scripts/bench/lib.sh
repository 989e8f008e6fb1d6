# Shell helpers shared by the benchmark scripts (sourced, not run). MAX_LOAD must be set.

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# The 1-minute load average, and a float comparison a < b.
load1() { cut -d' ' -f1 /proc/loadavg; }
below() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a < b)}'; }

wait_for_quiet() { # polls every 20 s, at most 10 min; prints the load it started at
  local i
  for ((i = 0; i < 30; i++)); do
    below "$(load1)" "$MAX_LOAD" && break
    log "load $(load1) >= $MAX_LOAD; waiting"
    sleep 20
  done
  load1
}

stop_pid() { # pid [grace_seconds]: our own child only, by PID
  local pid=$1 grace=${2:-10} i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  log "pid $pid ignored SIGTERM for ${grace}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# A field of /proc/PID/status in kB (VmRSS, VmHWM), and the process's CPU seconds so far.
proc_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15)/hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }
