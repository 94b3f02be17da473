#!/bin/sh
# PID 1 of every lab container. Real servers (LVS_LAB_SERVE_PORTS set) get the HTTP
# responder; everything else just waits. TERM/INT end the container at once.
trap 'exit 0' TERM INT
for port in ${LVS_LAB_SERVE_PORTS:-}; do
  /usr/local/bin/lvs-lab-responder "$port" >/var/log/lvs-lab-responder-"$port".log 2>&1 &
done
while :; do sleep 3600 & wait $!; done
