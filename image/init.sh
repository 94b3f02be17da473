#!/bin/sh
# PID 1 of every lab container. Real servers (LVS_LAB_SERVE_PORTS set) get the HTTP
# responder; everything else just waits. TERM/INT end the container at once.
trap 'exit 0' TERM INT
for port in ${LVS_LAB_SERVE_PORTS:-}; do
  /usr/local/bin/lvs-lab-responder "$port" >/var/log/lvs-lab-responder-"$port".log 2>&1 &
done
# The start hook a host runs at boot (systemd's rc-local.service, System V's rc.local): the
# container has no init system, and this is where a learner's settings come back after a restart.
[ -x /etc/rc.local ] && /etc/rc.local </dev/null >/var/log/rc.local.log 2>&1
# A check that restarts the container waits for this: the hook has run (PID 1's start time).
cut -d' ' -f22 /proc/1/stat > /run/lvs-lab-started
while :; do sleep 3600 & wait $!; done
