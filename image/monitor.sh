#!/bin/sh
# lvs-lab-monitor: a steady trickle of requests and what became of them, so an outage
# (a director failing over, a real server dying) can be measured after the fact.
#   lvs-lab-monitor start URL [INTERVAL] [SECONDS]  request URL every INTERVAL s (default 0.25)
#                                                   for at most SECONDS (default 3600), in the background
#   lvs-lab-monitor gap [WINDOW]                    longest outage in the last WINDOW s (default 120):
#                                                   from the first failed request to the next answered one
#   lvs-lab-monitor stop
# Log: one line per request, "<epoch seconds> ok <server>" or "<epoch seconds> fail <curl exit code>".
LOG=/var/log/lvs-lab-monitor.log
PID=/run/lvs-lab-monitor.pid
case "$1" in
  start)
    url=$2 interval=${3:-0.25} seconds=${4:-3600}
    [ -f "$PID" ] && kill "$(cat "$PID")" 2>/dev/null
    (
      end=$(( $(date +%s) + seconds ))
      while [ "$(date +%s)" -lt "$end" ]; do
        # Stamped when the request starts: an outage runs from the first failed attempt.
        now=$(date +%s.%N | cut -c1-14)
        out=$(curl -s -m 1 "$url"); rc=$?
        if [ $rc -eq 0 ]; then echo "$now ok ${out%% saw*}"; else echo "$now fail $rc"; fi
        sleep "$interval"
      done
    ) >>"$LOG" 2>&1 &
    echo $! >"$PID"
    ;;
  stop)
    [ -f "$PID" ] && kill "$(cat "$PID")" 2>/dev/null
    rm -f "$PID"
    ;;
  gap)
    window=${2:-120}
    now=$(date +%s)
    awk -v since=$((now - window)) '
      $1 < since { next }
      $2 == "ok" { if (down != "") { g = $1 - down; if (g > gap) gap = g; down = "" } ; ok++; next }
      { if (down == "") down = $1; failed++ }
      END {
        if (down != "") { open = 1 }
        printf "requests %d ok %d failed %d gap %.1f%s\n", ok + failed, ok, failed, gap + 0, open ? " still-failing" : ""
      }' "$LOG" 2>/dev/null || echo "requests 0 ok 0 failed 0 gap 0.0"
    ;;
  *)
    sed -n '2,8p' "$0"; exit 2 ;;
esac
