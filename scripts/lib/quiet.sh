# shellcheck shell=bash
# Sourced by the benchmark scripts: wait for a quiet machine before each measurement.
#
#   source scripts/lib/quiet.sh
#   wait_quiet MAX_LOAD [TIMEOUT_S] [NAME]   # returns when the 1-minute load average < MAX_LOAD
#
# On these shared 2-core VMs a benchmark started at load average 1 or more measures the other
# processes as much as the code. wait_quiet polls /proc/loadavg every 10 s; after TIMEOUT_S
# (default 600) it says so on stderr and returns anyway, and the rows' "loadavg_start" record the
# load the run really started at. MAX_LOAD 0 (or empty) does not wait.

loadavg() { cut -d' ' -f1 /proc/loadavg; }

wait_quiet() {
  local max_load=${1:-0} timeout=${2:-600} name=${3:-benchmark} waited=0
  awk -v m="$max_load" 'BEGIN { exit !(m > 0) }' || return 0
  while ! awk -v l="$(loadavg)" -v m="$max_load" 'BEGIN { exit !(l < m) }'; do
    if [ "$waited" -ge "$timeout" ]; then
      echo "$name: load average still $(loadavg) after $timeout s (wanted < $max_load): running anyway" >&2
      return 0
    fi
    [ "$waited" = 0 ] && echo "$name: waiting for the load average ($(loadavg)) to fall below $max_load" >&2
    sleep 10
    waited=$((waited + 10))
  done
}
