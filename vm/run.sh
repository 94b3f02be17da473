#!/bin/sh
# lvs-lab VM launcher: starts QEMU in the background and guards it until lvs-lab says
# the boot succeeded.
#
#   vm/run.sh LOGFILE qemu-system-x86_64 ARGS...
#
# Prints QEMU's pid on stdout, then reads one line from stdin (a pipe held by lvs-lab):
#   "detach"  -> the VM is up; leave QEMU running (it outlives lvs-lab until `vm down`).
#   anything else or EOF -> lvs-lab failed, was interrupted or died (even SIGKILL closes
#             the pipe): stop QEMU (SIGTERM, then SIGKILL after 3 s).
# So a half-booted QEMU never outlives the `lvs-lab vm up` that started it.
LOG=${1:?usage: run.sh LOGFILE QEMU ARGS...}
shift
"$@" </dev/null >>"$LOG" 2>&1 &
QPID=$!
echo "$QPID"
read -r cmd || cmd=
[ "$cmd" = detach ] && exit 0
kill -TERM "$QPID" 2>/dev/null || exit 0
(sleep 3; kill -KILL "$QPID" 2>/dev/null) &
KILLER=$!
wait "$QPID" 2>/dev/null
kill "$KILLER" 2>/dev/null
exit 0
