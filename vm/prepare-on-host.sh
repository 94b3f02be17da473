#!/bin/sh
# The VM's Docker data disk made on this host at native speed, instead of a preparation
# boot that loads the lab image under emulation (about 10 s here against 3–4 min).
# The disk is formatted as the guest's init would, loop-mounted, and a private dockerd
# (the VM's Docker version, checked by the caller) loads the image from the host's engine.
#
#   prepare-on-host.sh DISK IMAGE_REF WORKDIR
#
# DISK: a sparse file of the data disk's size. WORKDIR: an empty directory for the mount,
# the private dockerd's sockets and log. The host's engine is DOCKER_HOST (or the default).
# Prints "@@phase format|dockerd|load" as it goes and ends with "data disk ready", exit 0.
# Interrupted or failed, it stops its dockerd and unmounts the disk; the caller deletes DISK.
set -eu
disk=$1 ref=$2 work=$3
mnt=$work/mnt sock=$work/docker.sock pidfile=$work/dockerd.pid
private="docker -H unix://$sock"

stop_dockerd() {
  [ -f "$pidfile" ] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  i=0
  while [ -f "$pidfile" ] && [ "$i" -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
}
cleanup() {
  rc=$?
  if [ "$rc" != 0 ] && [ -s "$work/dockerd.log" ]; then echo "the private dockerd's last words:" >&2; tail -5 "$work/dockerd.log" >&2; fi
  stop_dockerd
  if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "@@phase format"
mkfs.ext4 -q -F -L lvslab-docker -i 16384 "$disk"
mkdir -p "$mnt"
mount -o loop "$disk" "$mnt"

echo "@@phase dockerd"
dockerd --data-root "$mnt" --exec-root "$work/exec" --pidfile "$pidfile" -H "unix://$sock" \
  --storage-driver overlay2 --bridge none --iptables=false --ip-masq=false --ip-forward=false \
  --tls=false --log-level warn >"$work/dockerd.log" 2>&1 &
i=0
until $private version >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -gt 120 ] && { echo "the private dockerd did not answer in 60 s:"; tail -5 "$work/dockerd.log"; exit 1; }
  sleep 0.5
done

echo "@@phase load"
docker save "$ref" | $private load
echo "image $($private image inspect -f '{{.Id}}' "$ref")"

stop_dockerd
# The guest's dockerd makes its own networks (this one had no bridge).
rm -rf "$mnt/network"
umount "$mnt"
echo "data disk ready"
