/**
 * A node's network state, saved and put back in one exec each, so that selftest can play
 * every variant and mistake of a step from the step's clean start without recreating
 * containers (which costs tens of seconds per node under an emulated kernel).
 *
 * What is saved: the IPv4 sysctls (conf, vs, ip_forward), addresses, link up/down, the main
 * routing table, iptables (legacy and nft), IPVS tables and timeouts, /etc/keepalived, the files a
 * start brings the node's settings back from (BOOT_FILES), and which processes run.
 * Restoring also forgets what the kernel learnt from traffic (neighbours,
 * conntrack, path MTUs), and ends with a digest of the state compared to the saved one.
 */

import { AGENT_NAME } from "../docker/exec-agent.js";

const DIR = "/var/lib/lvs-lab-snapshot";

/** What the image's start hook reads a node's settings from (the nat lab's last step). */
const BOOT_FILES = "etc/rc.local etc/ipvsadm.rules etc/default/ipvsadm etc/sysctl.conf etc/sysctl.d";

/** The state worth comparing, one section per line group; counters and timers left out. */
const DIGEST = `
digest() {
  grep -r '' /proc/sys/net/ipv4/conf /proc/sys/net/ipv4/vs /proc/sys/net/ipv4/ip_forward 2>/dev/null | sort
  ip -4 -o addr show | awk '{print $2, $4}' | sort
  ip -o link show | sed -E 's/^[0-9]+: ([^:@]+)[^<]*<([^>]*)>.*/\\1 \\2/' | sort
  ip -4 route show table main | sort
  # An empty table with ACCEPT policies acts as no table (legacy tables cannot be removed).
  { iptables-legacy-save; iptables-nft-save; } 2>/dev/null | sed 's/ \\[[0-9]*:[0-9]*\\]//' | grep -v -e '^#' -e '^\\*' -e '^COMMIT' -e '^:[A-Z]* ACCEPT$' | sort
  nft list tables 2>/dev/null | sort
  ipvsadm -S -n 2>/dev/null | sort
  ipvsadm -L --timeout 2>/dev/null
  (cd / && ls -ld ${BOOT_FILES} 2>/dev/null | cut -c1-10; cat $(find ${BOOT_FILES} -type f 2>/dev/null | sort)) | md5sum
  ps -eo args= | grep -v -e LVS_LAB_SCRIPT -e '^${AGENT_NAME} ' -e '^ps ' -e '^sort' -e '^md5sum' -e '^cut ' | sort
}`;

export function saveScript(): string {
  return `# lvs-lab-snapshot save
set -u
d=${DIR}; rm -rf $d; mkdir -p $d
${DIGEST}
grep -r '' /proc/sys/net/ipv4/conf /proc/sys/net/ipv4/vs /proc/sys/net/ipv4/ip_forward > $d/sysctl 2>/dev/null
ip -4 -o addr show | awk '{ label = ""; for (i = 5; i <= NF; i++) if ($i == "scope") { s = $(i + 1); l = $(i + 2); if (l != $2 && l !~ /^(dynamic|noprefixroute|valid_lft|\\\\)$/) label = l }; print $2, $4, label }' > $d/addr
ip -o link show | sed -E 's/^[0-9]+: ([^:@]+)[^<]*<([^>]*)>.*/\\1 \\2/' > $d/link
ip -4 route show table main > $d/route
iptables-legacy-save > $d/iptables-legacy 2>/dev/null
iptables-nft-save > $d/iptables-nft 2>/dev/null
ipvsadm -S -n > $d/ipvs 2>/dev/null
ipvsadm -L --timeout > $d/ipvs-timeout 2>/dev/null
[ -d /etc/keepalived ] && tar -C /etc -cf $d/keepalived.tar keepalived
tar -C / -cf $d/boot.tar $(cd / && ls -d ${BOOT_FILES} 2>/dev/null)
# Without the exec that runs this script (its command line names the script's variable),
# lvs-lab's command runner, which restarts by itself, and the image's init's sleep, whose
# pid changes when the container restarts (init.sh).
ps -eo pid=,ppid=,args= | grep -v LVS_LAB_SCRIPT | awk '$3 != "${AGENT_NAME}" && !($2 == 1 && $3 == "sleep")' > $d/ps
digest > $d/state; md5sum < $d/state | cut -d' ' -f1 > $d/digest
echo "saved $(cat $d/digest)"`;
}

/**
 * `touched`: the case ran commands on this node. A node it did not touch changed only by
 * what traffic taught it (neighbours, conntrack, path MTUs) — unless a daemon there acts
 * on what it hears (keepalived takes a VIP when the master falls silent): then it is
 * compared with its snapshot like a touched one. Comparing costs a dozen processes, which
 * an emulated CPU feels.
 */
export function restoreScript(opts: { touched: boolean } = { touched: true }): string {
  return `# lvs-lab-snapshot restore
d=${DIR}
[ -f $d/digest ] || { echo "no snapshot"; exit 3; }
${DIGEST}
forget_traffic() { ip neigh flush all 2>/dev/null; conntrack -F >/dev/null 2>&1; ip route flush cache 2>/dev/null; }
${opts.touched ? "" : 'pgrep -x keepalived >/dev/null || { forget_traffic; echo restored; exit 0; }'}
# A node whose state is still the snapshot's needs only to forget what traffic taught it.
if [ "$(digest | md5sum | cut -d' ' -f1)" = "$(cat $d/digest)" ]; then forget_traffic; echo restored; exit 0; fi
# This script, its children and the exec that runs it (timeout, sh) are not the learner's.
me=$$
ancestors=" "; up=$me; while [ "$up" -gt 1 ]; do ancestors="$ancestors$up "; up=$(awk '{print $4}' /proc/$up/stat 2>/dev/null || echo 0); done
# Processes started since the snapshot go (gently first: keepalived then drops its VIP and
# pid files); processes of the snapshot that are gone come back.
is_saved() { awk -v p="$1" '$1 == p { found = 1 } END { exit !found }' $d/ps; }
# Command runners (another lvs-lab process may have one here) and what they run are not either.
agents=" $(pgrep -f '^${AGENT_NAME} ' | tr '\n' ' ')"
mine() { up=$1; while [ "$up" -gt 1 ]; do case "$agents" in *" $up "*) return 0 ;; esac; [ "$up" = "$me" ] && return 0; up=$(awk '{print $4}' /proc/$up/stat 2>/dev/null || echo 0); done; return 1; }
extra() {
  for pid in $(ps -eo pid=,ppid=,comm= | awk '!($2 == 1 && $3 == "sleep") { print $1 }'); do
    [ "$pid" = 1 ] || [ ! -d /proc/$pid ] && continue
    case "$ancestors" in *" $pid "*) continue ;; esac
    is_saved $pid || mine $pid || echo $pid
  done
}
pids=$(extra); [ -n "$pids" ] && kill $pids 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(extra)" ] && break; sleep 0.2; done
pids=$(extra); [ -n "$pids" ] && kill -9 $pids 2>/dev/null
rm -rf /etc/keepalived; [ -f $d/keepalived.tar ] && tar -C /etc -xf $d/keepalived.tar
(cd / && rm -rf ${BOOT_FILES}); [ -f $d/boot.tar ] && tar -C / -xf $d/boot.tar
# Kernel state.
# Only the sysctls that changed are written (one process per file is slow on an emulated CPU).
grep -r '' /proc/sys/net/ipv4/conf /proc/sys/net/ipv4/vs /proc/sys/net/ipv4/ip_forward 2>/dev/null > $d/sysctl.now
awk -F: 'NR == FNR { now[$1] = substr($0, length($1) + 2); next } { v = substr($0, length($1) + 2); if (now[$1] != v) print $1 "\t" v }' $d/sysctl.now $d/sysctl |
  while IFS="$(printf '\\t')" read -r f v; do echo "$v" > "$f" 2>/dev/null; done
ip -4 -o addr show | awk '{print $2, $4}' | while read -r dev addr; do grep -q "^$dev $addr " $d/addr || ip addr del "$addr" dev "$dev"; done
while read -r dev addr label; do ip -4 -o addr show dev "$dev" | grep -q " $addr " || ip addr add "$addr" dev "$dev" \${label:+label $label}; done < $d/addr
ip -o link show | sed -E 's/^[0-9]+: ([^:@]+).*/\\1/' | while read -r dev; do grep -q "^$dev " $d/link || ip link del "$dev" 2>/dev/null; done
while read -r dev flags; do case ",$flags," in *,UP,*) ip link set "$dev" up ;; *) ip link set "$dev" down ;; esac 2>/dev/null; done < $d/link
ip -4 route flush table main
# Routes on a link first: a gateway must be reachable before a route can use it.
grep -v ' via ' $d/route | while read -r route; do ip route add $route 2>/dev/null; done
grep ' via ' $d/route | while read -r route; do ip route add $route 2>/dev/null; done
nft flush ruleset 2>/dev/null
# Only the legacy tables that exist: flushing one that does not would create it.
for t in $(iptables-legacy-save 2>/dev/null | sed -n 's/^\\*//p'); do iptables-legacy -t $t -F; iptables-legacy -t $t -X; done 2>/dev/null
iptables-legacy-restore < $d/iptables-legacy 2>/dev/null
iptables-nft-restore < $d/iptables-nft 2>/dev/null
ipvsadm -C 2>/dev/null; ipvsadm -R < $d/ipvs 2>/dev/null
# "Timeout (tcp tcpfin udp): 900 120 300": ipvsadm -C and -R leave the timeouts as they are.
[ -s $d/ipvs-timeout ] && read -r _ _ _ _ tcp fin udp < $d/ipvs-timeout && [ -n "$udp" ] && ipvsadm --set "$tcp" "$fin" "$udp" 2>/dev/null
forget_traffic
# A saved process that is gone is started again from its command line when its parent
# lives on; a child of a gone parent (keepalived's workers) comes back with its parent.
# Last, on the network it expects (keepalived started on a link still down goes to FAULT).
awk '{ pid = $1; ppid = $2; $1 = ""; $2 = ""; sub(/^  /, ""); print pid "\\t" ppid "\\t" $0 }' $d/ps |
  while IFS="$(printf '\\t')" read -r pid ppid args; do
    [ -d /proc/$pid ] || [ ! -d /proc/$ppid ] && continue
    case "$args" in keepalived*|*/keepalived*) rm -f /run/keepalived.pid /run/vrrp.pid /run/checkers.pid; echo "started again: $args" ;; esac
    setsid sh -c "exec $args" >/dev/null 2>&1 < /dev/null &
  done
# What was started again needs a moment to be what it was (keepalived forks its workers).
end=$(( $(date +%s) + 20 ))
while sleep 0.25; do
  digest > $d/now
  [ "$(md5sum < $d/now | cut -d' ' -f1)" = "$(cat $d/digest)" ] || [ "$(date +%s)" -ge $end ] && break
done
if [ "$(md5sum < $d/now | cut -d' ' -f1)" = "$(cat $d/digest)" ]; then echo restored
else echo "differs: $(diff $d/state $d/now | grep '^[<>]' | head -3 | tr '\n' ' ')"; fi`;
}

/** Whether the node is in its saved state now: "same", or "differs". */
export function compareScript(): string {
  return `# lvs-lab-snapshot compare
d=${DIR}
${DIGEST}
[ "$(digest | md5sum | cut -d' ' -f1)" = "$(cat $d/digest 2>/dev/null)" ] && echo same || echo differs`;
}

/** What a compare reports when the node is in its saved state. */
export const SAME = /^same$/m;

/** The restore started keepalived again: its VRRP role takes a few seconds to settle. */
export function startedKeepalivedAgain(output: string): boolean {
  return /^started again: /m.test(output);
}

/** What a save reports when it saved. */
export const SAVED = /^saved /m;

/** What a restore reports when the node is back to the saved state. */
export const RESTORED = /^restored$/m;
