#!/bin/sh
# lvs-lab VM recipe: builds the kernel, root disk and initramfs of the lvs-lab VM from
# Debian packages.
#
#   vm/build.sh OUTDIR
#
# Writes OUTDIR/vmlinuz, OUTDIR/root.img (the root filesystem, ext4), OUTDIR/initrd.cpio
# (busybox and the modules that mount root.img) and OUTDIR/manifest.txt. Needs root,
# debootstrap, cpio, mkfs.ext4 and network access to a Debian mirror (LVS_LAB_DEBIAN_MIRROR,
# default http://deb.debian.org/debian). Nothing else on the host is touched.
#
# The root is a disk, not the initramfs: an initramfs root stays in the guest's RAM
# whole (≈0.5 GB, which QEMU then also keeps mapped), and unpacking it costs boot time.
# From a disk the guest reads only the files it uses, into a cache it can drop.
#
# Why: the labs need ip_vs and ipip, which many host kernels (CI runners, WSL, some
# cloud images) lack. The VM runs Debian 12's stock kernel and its own Docker engine;
# lvs-lab talks to that engine over a localhost port, so the labs' code is the same.
#
# lvs-lab (src/vm/) runs this script when the recipe hash changes (sha256 over this
# file and vm/init), in a temporary directory renamed into place on success. Lines
# starting with "@@phase NAME DETAIL" on stdout mark progress; everything else is log.
set -eu

OUT=${1:?usage: build.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${LVS_LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
ROOT="$OUT/root"

phase() { echo "@@phase $*"; }

mkdir -p "$OUT"
rm -rf "$ROOT"

# --- download: a minimal Debian 12 root with Docker and the LVS tools ----------------
# docker.io brings containerd, runc and tini; e2fsprogs formats the data disk.
phase download "debootstrap $SUITE (docker.io, iproute2, iptables, ipvsadm)"
debootstrap --variant=minbase \
  --include=docker.io,iproute2,iptables,ipvsadm,kmod,e2fsprogs,procps \
  "$SUITE" "$ROOT" "$MIRROR"

# The stock generic kernel (has ip_vs*, ipip, veth, bridge, overlay as modules; the
# -cloud variant lacks some). apt runs inside the new root, so the host needs no apt.
phase download "Debian kernel package"
chroot "$ROOT" apt-get -q update
KPKG=$(chroot "$ROOT" apt-cache depends linux-image-amd64 \
  | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
[ -n "$KPKG" ] || { echo "build.sh: cannot resolve linux-image-amd64" >&2; exit 1; }
mkdir -p "$ROOT/tmp/kernel"
chmod 0777 "$ROOT/tmp/kernel"  # apt downloads as user _apt
chroot "$ROOT" sh -c "cd /tmp/kernel && apt-get -q download $KPKG busybox-static"

# --- build: kernel modules into the root, trimmed; init script ------------------------
phase build "unpack $KPKG, trim modules, install init"
KDIR="$ROOT/tmp/kernel/x"
dpkg-deb -x "$ROOT"/tmp/kernel/linux-image-*.deb "$KDIR"
KVER=$(ls "$KDIR/lib/modules")
# Extract beside the root and copy: the root's /lib is a symlink (merged /usr) that a
# plain tar extraction would replace with a directory.
mkdir -p "$ROOT/usr/lib/modules"
cp -a "$KDIR/lib/modules/$KVER" "$ROOT/usr/lib/modules/"
cp "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
M="$ROOT/usr/lib/modules/$KVER/kernel"
# Hardware the VM never has: halves the initramfs.
for d in sound drivers/gpu drivers/media drivers/usb drivers/net/wireless net/wireless \
         net/mac80211 net/bluetooth drivers/bluetooth drivers/infiniband drivers/staging \
         drivers/iio drivers/hid drivers/input drivers/mtd drivers/isdn drivers/scsi \
         drivers/net/ethernet drivers/net/can net/can drivers/hwmon drivers/video \
         drivers/platform drivers/thunderbolt drivers/nfc net/nfc drivers/firewire \
         drivers/edac drivers/leds drivers/rtc drivers/watchdog drivers/w1 drivers/power \
         drivers/mmc drivers/spi drivers/i2c drivers/pinctrl drivers/gpio fs/ocfs2 fs/gfs2 \
         fs/nfs fs/nfsd fs/ceph fs/smb fs/xfs fs/btrfs fs/f2fs fs/jfs fs/ntfs3 fs/ubifs; do
  rm -rf "${M:?}/$d"
done
chroot "$ROOT" depmod -a "$KVER"

# --- the initramfs: busybox and what it takes to mount the root disk ------------------
# Everything is a module in Debian's kernel, even the virtio disk. crc32c is named
# because ext4 asks for it at mount time, when there is no modprobe to load it.
TINY="$OUT/initramfs"
mkdir -p "$TINY/bin" "$TINY/modules" "$TINY/dev" "$TINY/proc" "$TINY/root"
dpkg-deb -x "$ROOT"/tmp/kernel/busybox-static_*.deb "$ROOT/tmp/kernel/busybox"
cp "$ROOT/tmp/kernel/busybox/bin/busybox" "$TINY/bin/busybox"
for applet in sh echo cat sleep mount umount insmod switch_root; do ln -s busybox "$TINY/bin/$applet"; done
mknod -m 600 "$TINY/dev/console" c 5 1
for m in virtio_pci virtio_blk crc32c_generic ext4; do
  chroot "$ROOT" modprobe -S "$KVER" --show-depends "$m"
done | sed -n 's/^insmod \([^ ]*\).*/\1/p' | awk '!seen[$0]++' | while read -r ko; do
  cp "$ROOT$ko" "$TINY/modules/"
  basename "$ko" >> "$TINY/modules/order"
done
cat > "$TINY/init" <<'EARLY'
#!/bin/sh
# Early init: load the disk's modules, mount the root disk, hand over to its /init (vm/init).
PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod "/modules/$m" || echo "early init: insmod $m failed"; done
i=0
while [ ! -b /dev/vda ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 /dev/vda /root; then
  echo "early init: cannot mount the root disk /dev/vda"
  echo o > /proc/sysrq-trigger
fi
umount /proc
umount /dev
exec switch_root /root /init
EARLY
chmod 0755 "$TINY/init"

rm -rf "$ROOT/tmp/kernel" "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
       "$ROOT"/usr/share/doc "$ROOT"/usr/share/man "$ROOT"/usr/share/locale "$ROOT"/usr/share/info
install -m 0755 "$HERE/init" "$ROOT/init"
echo lvs-lab-vm > "$ROOT/etc/hostname"
printf 'nameserver 10.0.2.3\n' > "$ROOT/etc/resolv.conf"

# --- pack: the root disk (ext4 made from the directory) and the initramfs (newc cpio) -----
# The disk has room to spare for what the guest writes: each boot takes it copy-on-write.
phase pack "root disk (ext4) and initramfs"
DOCKER_VERSION=$(chroot "$ROOT" dpkg-query -W -f '${Version}' docker.io)
ROOT_MIB=$(( $(du -sm "$ROOT" | cut -f1) + 512 ))
mkfs.ext4 -q -F -L lvslab-root -d "$ROOT" "$OUT/root.img" "${ROOT_MIB}M"
(cd "$TINY" && find . -print0 | cpio --null -o -H newc --quiet) > "$OUT/initrd.cpio"
{
  echo "kernel=$KVER"
  echo "package=$KPKG"
  echo "docker=$DOCKER_VERSION"
  echo "root_mib=$ROOT_MIB"
  echo "initrd_bytes=$(stat -c %s "$OUT/initrd.cpio")"
} > "$OUT/manifest.txt"
rm -rf "$ROOT" "$TINY"
phase done "$(tr '\n' ' ' < "$OUT/manifest.txt")"
