#!/usr/bin/env bash
# Everything lvs-lab and its tests need on a fresh Debian/Ubuntu machine (as root):
# system packages (chromium for the class page's browser test, docker-compose for the bench), node modules, a running
# Docker engine and the lab image. Where this kernel has no ip_vs, `doctor --fix` also
# installs QEMU (a few packages), but the VM itself is built by the first `lvs-lab start`
# of an LVS lab. With --vm (CI, `npm run test:all`) the VM is built and booted here; with
# --tests (the same) what only the tests need: the engines they start, their shells and user.
set -euo pipefail
cd "$(dirname "$0")/.."
want_vm=no
want_tests=no
for arg in "$@"; do
  case "$arg" in
    --vm) want_vm=yes ;;
    --tests) want_tests=yes ;;
    *) echo "setup.sh: unknown option $arg (known: --vm, --tests)" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  # docker-compose (v1, Debian's package): the baseline `npm run bench` compares start times with.
  packages=(docker.io docker-compose debootstrap tmux curl chromium)
  [ "$want_vm" = yes ] && packages+=(qemu-system-x86 qemu-utils cpio e2fsprogs)
  # Only for the tests, never on a learner's machine: zsh and fish run the completion scripts
  # (test/conventions.test.ts); the engine tests (test/engine-*.docker.test.ts) start a loopback
  # sshd, Podman and rootless Docker.
  [ "$want_tests" = yes ] && packages+=(zsh fish openssh-server podman rootlesskit uidmap slirp4netns fuse-overlayfs)
  missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ "$want_tests" = yes ]; then
    # A non-root user with subordinate ids: rootless Docker and Podman in the engine tests run as it.
    id lvs-lab-rootless >/dev/null 2>&1 || useradd --create-home --shell /bin/bash lvs-lab-rootless
    grep -q '^lvs-lab-rootless:' /etc/subuid || usermod --add-subuids 200000-265535 --add-subgids 200000-265535 lvs-lab-rootless
    # slirp4netns opens /dev/net/tun in the user's namespace: it must be open to all, as udev leaves it on Debian.
    if [ -c /dev/net/tun ]; then chmod 0666 /dev/net/tun; fi
  fi
else
  echo "Not root on Debian/Ubuntu: install Docker, tmux and (where the kernel lacks ip_vs) qemu-system-x86 yourself." >&2
fi

step "node modules, build"
npm ci --no-audit --no-fund
# A clone has no dist/ until it is built (the package builds on prepack, so installs stay silent).
npm run build

step "Docker engine, lab image, QEMU where the kernel lacks ip_vs (lvs-lab doctor --fix)"
node bin/lvs-lab.js doctor --fix

if [ "$want_vm" = yes ]; then
  step "real-kernel VM (lvs-lab vm up)"
  node bin/lvs-lab.js vm up
fi
step "ready"
