/**
 * QEMU command lines and recognising our own QEMU process. Pure except for the small
 * /proc readers at the end.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/** Marker in every lvs-lab QEMU command line (`-name lvs-lab-vm`); `vm down` signals nothing without it. */
export const VM_NAME = "lvs-lab-vm";
/** The engine's port inside the VM (dockerd -H tcp://0.0.0.0:2375, see vm/init). */
export const GUEST_DOCKER_PORT = 2375;
export const FIRST_HOST_PORT = 23750;

export type Accel = "kvm" | "tcg";

export interface QemuOptions {
  kernel: string;
  /** A few MiB: busybox and the modules that mount the root disk (vm/build.sh). */
  initrd: string;
  /** The VM's root filesystem (raw ext4), always booted copy-on-write: /dev/vda. */
  rootDisk: string;
  /** Raw ext4 Docker data disk: /dev/vdb. */
  disk?: string;
  /** true: copy-on-write, the guest's writes vanish when QEMU exits (normal boots). */
  diskSnapshot: boolean;
  hostPort: number;
  memoryMiB: number;
  cpus: number;
  accel: Accel;
  /** TCG's translated-code cache (MiB); QEMU's default of 1 GiB ends up fully resident. */
  tbSizeMiB?: number;
  /** Data-disk preparation boot: the guest waits for this image, then powers off. */
  prepareImage?: string;
  /**
   * Both disks as qcow2 overlays over the root and the data disk (resume.ts) instead of
   * the raw files: written in place by the boot that is saved, copy-on-write (snapshot)
   * under a restored VM so that the saved state never changes.
   */
  overlays?: { root: string; data: string; snapshot: boolean };
  /** QEMU's machine protocol on this unix socket (stop, save, continue, quit). */
  qmpSocket?: string;
  /**
   * The guest's clock port (vm/init reads the host's time from it after a resume): a
   * pipe chardev, QEMU opens PATH.in and PATH.out (FIFOs).
   */
  clockPipe?: string;
  /** A saved state to restore instead of booting (`-incoming`, on descriptor INCOMING_FD). */
  incoming?: string;
  /** false: ip_vs, its schedulers and ipip stay unloaded (settings.ts vmPreloadsModules). */
  preloadModules?: boolean;
}

/** The virtio-serial port vm/init reads the host's time from after a resume. */
export const CLOCK_PORT = "lvs-lab.clock";

/** The descriptor QEMU reads a saved state from: the file, opened by boot.ts, after stdin, stdout and stderr. */
export const INCOMING_FD = 3;

/** One word for /bin/sh, whatever the text holds. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** QEMU's -drive/-netdev values use "," as separator; a literal comma is written ",,". */
export function qemuEscape(value: string): string {
  return value.replace(/,/g, ",,");
}

export function kernelCmdline(o: Pick<QemuOptions, "accel" | "prepareImage" | "preloadModules">): string {
  const parts = ["console=ttyS0", "rdinit=/init", "panic=1", "quiet"];
  // Under TCG nothing speculates, so the Spectre/Meltdown mitigations only cost time.
  if (o.accel === "tcg") parts.push("mitigations=off");
  if (o.prepareImage) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/.test(o.prepareImage)) throw new Error(`unsafe image ref for the kernel command line: ${o.prepareImage}`);
    parts.push(`lvslab.prepare=${o.prepareImage}`);
  }
  if (o.preloadModules === false) parts.push("lvslab.preload=0");
  return parts.join(" ");
}

/** argv after the binary name. */
export function qemuArgv(o: QemuOptions): string[] {
  const argv = [
    "-name",
    VM_NAME,
    "-m",
    String(o.memoryMiB),
    "-smp",
    String(o.cpus),
    // thread=multi froze both vCPUs in runc once on this kind of machine; single is stable.
    ...(o.accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", `tcg,thread=single${o.tbSizeMiB ? `,tb-size=${o.tbSizeMiB}` : ""}`, "-cpu", "max"]),
    "-kernel",
    o.kernel,
    "-initrd",
    o.initrd,
    "-append",
    kernelCmdline(o),
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    // restrict=on: the guest (and its containers) cannot open connections to the host or
    // the outside through QEMU's NAT — without it 10.0.2.2 is the host's loopback, where
    // the forwarded engine port itself listens. The hostfwd rule still works.
    "-netdev",
    `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${o.hostPort}-:${GUEST_DOCKER_PORT}`,
    "-device",
    "virtio-net-pci,netdev=n0",
    // The guest hands pages it frees back to QEMU, so QEMU's resident memory follows what
    // the labs use instead of the most they ever used.
    "-device",
    "virtio-balloon-pci,free-page-reporting=on",
  ];
  if (o.clockPipe) {
    argv.push("-device", "virtio-serial-pci", "-chardev", `pipe,id=clock,path=${qemuEscape(o.clockPipe)}`, "-device", `virtserialport,chardev=clock,name=${CLOCK_PORT}`);
  }
  if (o.qmpSocket) argv.push("-qmp", `unix:${qemuEscape(o.qmpSocket)},server=on,wait=off`);
  // The root first, so that it is /dev/vda. Copy-on-write: every boot starts from the build.
  if (o.overlays) {
    const snapshot = o.overlays.snapshot ? ",snapshot=on" : "";
    for (const file of [o.overlays.root, o.overlays.data]) argv.push("-drive", `file=${qemuEscape(file)},format=qcow2,if=virtio,cache=unsafe${snapshot}`);
  } else {
    argv.push("-drive", `file=${qemuEscape(o.rootDisk)},format=raw,if=virtio,cache=unsafe,snapshot=on`);
  }
  if (o.disk && !o.overlays) {
    argv.push(
      "-drive",
      // cache=unsafe: QEMU ignores the guest's flushes. Normal boots discard all writes anyway;
      // after the preparation boot lvs-lab fsyncs the disk file itself before using it.
      `file=${qemuEscape(o.disk)},format=raw,if=virtio,cache=unsafe${o.diskSnapshot ? ",snapshot=on" : ""}`,
    );
  }
  // The saved state comes on an inherited descriptor (boot.ts opens it): QEMU reads the
  // file straight, where a pipe from `cat` costs a wake-up of each side per 32 KiB, which
  // on a busy host took 11–19 s for 270 MB.
  if (o.incoming) argv.push("-incoming", `fd:${INCOMING_FD}`);
  return argv;
}

/**
 * argv of the accelerator trial (accel.ts): the VM's kernel and initramfs, init replaced by
 * busybox's echo, which prints `marker` once user space runs; the kernel then panics and, with
 * -no-reboot, QEMU exits. Named apart from the VM so that nothing mistakes it for one.
 */
export function trialArgv(o: Pick<QemuOptions, "kernel" | "initrd" | "accel" | "memoryMiB">, marker: string): string[] {
  return [
    "-name",
    `${VM_NAME}-trial`,
    "-m",
    String(o.memoryMiB),
    "-smp",
    "1",
    ...(o.accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg", "-cpu", "max"]),
    "-kernel",
    o.kernel,
    "-initrd",
    o.initrd,
    "-append",
    `console=ttyS0 rdinit=/bin/echo panic=-1 quiet -- ${marker}`,
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-nodefaults",
  ];
}

/** /proc/PID/cmdline is NUL-separated with a trailing NUL. */
export function parseProcCmdline(raw: Buffer | string): string[] {
  const text = typeof raw === "string" ? raw : raw.toString("utf8");
  const parts = text.split("\0");
  if (parts.length && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/**
 * True only for an lvs-lab QEMU of this cache: a qemu-system binary, `-name lvs-lab-vm`,
 * and a file argument under our cache root. A recycled pid never matches all three.
 */
export function isOurQemu(argv: string[] | undefined, root: string): boolean {
  if (!argv || argv.length < 3) return false;
  if (!basename(argv[0] ?? "").startsWith("qemu-system")) return false;
  const i = argv.indexOf("-name");
  if (i < 0 || (argv[i + 1] ?? "").split(",")[0] !== VM_NAME) return false;
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return argv.some((a) => a.startsWith(prefix) || a.includes(`file=${qemuEscape(prefix)}`));
}

/** Parses a pid file's content; undefined unless it is one positive integer. */
export function parsePidFile(content: string | undefined): number | undefined {
  if (content === undefined) return undefined;
  const t = content.trim();
  if (!/^[1-9][0-9]{0,9}$/.test(t)) return undefined;
  return Number(t);
}

export function readProcCmdline(pid: number): string[] | undefined {
  try {
    return parseProcCmdline(readFileSync(`/proc/${pid}/cmdline`));
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (an exited child of a parent that has not reaped it yet). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Resident memory (VmHWM = peak, VmRSS = now) in MiB. */
export function processMemoryMiB(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
    return { rss: Math.round(kb("VmRSS") / 1024), peak: Math.round(kb("VmHWM") / 1024) };
  } catch {
    return undefined;
  }
}
