/**
 * Resume instead of boot. Under TCG a boot takes ≈20 s until the engine answers, nearly
 * all of it the guest's dockerd and containerd starting on an emulated CPU. So the VM is
 * saved once, booted with its engine ready, per recipe, lab image and machine (QEMU
 * migration of RAM and devices to a file), and later starts restore it (`-incoming`).
 *
 *   recipeDir/resume-<data disk key>/ram.state    the migration stream
 *                                   /root.qcow2   both disks' copy-on-write state at the
 *                                   /data.qcow2   moment of the save (backing files
 *                                                 ../root.img and ../docker-….img)
 *                                   /meta.json    what it was saved from, and file sizes
 *
 * The boot that is saved writes into its own overlays; once the RAM is saved, those are
 * copied next to it and the VM runs on. A restored VM opens the saved overlays with
 * snapshot=on, so its writes go to an unlinked temp file and the saved state never
 * changes. A state saved by another recipe, QEMU or machine is stale (a cold boot saves
 * anew); one that cannot be read or restored is corrupt (a notice, then a cold boot). The
 * save is written as resume-<key>.tmp-<pid>/ and renamed once complete: an interrupted
 * save leaves nothing that a start would take for a saved state. After a restore, the
 * guest's clock is set from the host's through a virtio-serial port (vm/init).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync, constants } from "node:fs";
import { Socket } from "node:net";
import { basename, join } from "node:path";
import { Qmp } from "./qmp.js";
import { processAlive, qemuArgv, shellQuote, type Accel } from "./qemu.js";
import { vmQemuOptions, type BootDisks } from "./boot.js";
import type { VmPaths } from "./recipe.js";
import { onPath, readText, sleep } from "./run-state.js";
import { QEMU_BIN } from "./settings.js";

/** QEMU's default migration speed is 32 MiB/s (meant for networks): a 260 MB save would take 8 s. */
const SAVE_BANDWIDTH = 8 * 1024 ** 3;
const SAVE_TIMEOUT_MS = 120_000;
const LOAD_TIMEOUT_MS = 60_000;

export interface SavedMeta {
  recipe: string;
  dataDisk: string;
  qemu: string;
  /** QEMU's command line with this cache's paths and the port left out: devices, memory, CPUs, accelerator. */
  machine: string;
  savedAt: string;
  bytes: Record<"ram" | "root" | "data", number>;
}

export type SavedState = { kind: "none" } | { kind: "saved"; dir: string; meta: SavedMeta } | { kind: "stale" | "corrupt"; dir: string; why: string };

const FILES = { ram: "ram.state", root: "root.qcow2", data: "data.qcow2" } as const;

export function resumeDir(p: VmPaths, disk: string): string {
  return join(p.recipeDir, `resume-${basename(disk).replace(/^docker-|\.img$/g, "")}`);
}

/** The run/ files a saved or restored VM talks through. */
export function resumeLinks(p: VmPaths): Required<Pick<BootDisks, "qmpSocket" | "clockPipe">> {
  return { qmpSocket: join(p.stateDir, "qmp.sock"), clockPipe: join(p.stateDir, "clock") };
}

let qemuVersion: string | undefined;
function currentQemu(): string {
  qemuVersion ??= execFileSync(QEMU_BIN, ["--version"], { encoding: "utf8", timeout: 10_000 }).split("\n")[0]!.trim();
  return qemuVersion;
}

/** The command line a VM of this cache gets, with what differs between boots of the same machine left out. */
export function machineOf(p: VmPaths, accel: Accel): string {
  const same = { overlays: { root: "ROOT", data: "DATA", snapshot: false }, qmpSocket: "QMP", clockPipe: "CLOCK" };
  return qemuArgv({ ...vmQemuOptions(p, same, 0, accel), kernel: "KERNEL", initrd: "INITRD", rootDisk: "ROOT" }).join(" ");
}

export function expectedMeta(p: VmPaths, disk: string, accel: Accel): Omit<SavedMeta, "savedAt" | "bytes"> {
  return { recipe: p.hash, dataDisk: basename(disk), qemu: currentQemu(), machine: machineOf(p, accel) };
}

/** Can this host save and restore at all (qemu-img makes the overlays)? */
export function canResume(): boolean {
  return onPath("qemu-img");
}

/** What is saved for this data disk, and whether a start may restore it. Pure but for reading the files. */
export function findSaved(dir: string, expected: Omit<SavedMeta, "savedAt" | "bytes">): SavedState {
  if (!existsSync(dir)) return { kind: "none" };
  let meta: SavedMeta;
  try {
    meta = JSON.parse(readText(join(dir, "meta.json")) ?? "") as SavedMeta;
  } catch {
    return { kind: "corrupt", dir, why: "its meta.json is missing or unreadable" };
  }
  for (const key of ["recipe", "dataDisk", "qemu", "machine"] as const) {
    if (meta[key] !== expected[key]) return { kind: "stale", dir, why: `saved with another ${key === "dataDisk" ? "data disk" : key}` };
  }
  for (const [key, name] of Object.entries(FILES) as Array<[keyof typeof FILES, string]>) {
    const size = fileSize(join(dir, name));
    if (size === undefined) return { kind: "corrupt", dir, why: `${name} is missing` };
    if (size !== meta.bytes?.[key]) return { kind: "corrupt", dir, why: `${name} has ${size} bytes, ${meta.bytes?.[key] ?? "?"} were saved` };
  }
  return { kind: "saved", dir, meta };
}

function fileSize(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/** A saved VM is there for some data disk of this recipe (for estimates: whether it fits is decided at the start). */
export function hasSavedVm(p: VmPaths): boolean {
  return existsSync(p.recipeDir) && readdirSync(p.recipeDir).some((name) => /^resume-[0-9a-f]{16}$/.test(name));
}

/** Saves that never finished (their process is gone) and saved states of other data disks. */
export function removeOtherSaves(p: VmPaths, keep: string | undefined): void {
  if (!existsSync(p.recipeDir)) return;
  for (const name of readdirSync(p.recipeDir)) {
    const tmp = /^resume-[0-9a-f]{16}\.tmp-(\d+)$/.exec(name);
    const stale = tmp ? Number(tmp[1]) !== process.pid && !processAlive(Number(tmp[1])) : /^resume-[0-9a-f]{16}$/.test(name) && join(p.recipeDir, name) !== keep;
    if (stale) rmSync(join(p.recipeDir, name), { recursive: true, force: true });
  }
}

/** The clock FIFOs QEMU's pipe chardev opens (PATH.in, PATH.out). */
export function ensureClockPipe(clockPipe: string): void {
  for (const end of [".in", ".out"]) {
    const path = clockPipe + end;
    try {
      if (statSync(path).isFIFO()) continue;
      rmSync(path, { force: true });
    } catch {
      /* not there yet */
    }
    execFileSync("mkfifo", ["-m", "600", path]);
  }
}

/** Hands the host's time to the guest (vm/init steps its clock to it). */
export function sendClock(clockPipe: string, now: number = Date.now()): void {
  sendLine(clockPipe, `time ${(now / 1000).toFixed(3)}`);
}

function sendLine(clockPipe: string, line: string): void {
  // QEMU holds the FIFO open for reading: a non-blocking open for writing succeeds at once.
  const fd = openSync(`${clockPipe}.in`, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Before a save: the guest drops its page cache and compacts its memory (vm/init), so
 * that the saved RAM is what is in use and lies together. Resolves when it says so, or
 * after `ms` (a guest without it saves as it is).
 */
export async function settleGuest(clockPipe: string, ms = 20_000): Promise<boolean> {
  const fd = openSync(`${clockPipe}.out`, constants.O_RDONLY | constants.O_NONBLOCK);
  const answers = new Socket({ fd, readable: true, writable: false });
  try {
    const settled = new Promise<boolean>((resolve) => {
      let text = "";
      answers.on("data", (b: Buffer) => {
        text += b.toString("utf8");
        if (/^settled$/m.test(text)) resolve(true);
      });
      answers.on("error", () => resolve(false));
      answers.on("close", () => resolve(false));
      setTimeout(() => resolve(false), ms).unref();
    });
    sendLine(clockPipe, "settle");
    return await settled;
  } finally {
    answers.destroy();
  }
}

/** A save in progress: the overlays the saved boot writes to, in the directory renamed at the end. */
export interface SaveJob {
  tmp: string;
  final: string;
  live: { root: string; data: string };
}

/** Makes the overlays the boot to be saved runs on (backing files relative: the cache may move). */
export function startSave(p: VmPaths, disk: string): SaveJob {
  const final = resumeDir(p, disk);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const live = { root: join(tmp, "live-root.qcow2"), data: join(tmp, "live-data.qcow2") };
  for (const [overlay, base] of [
    [live.root, p.rootDisk],
    [live.data, disk],
  ] as const) {
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", join("..", basename(base)), overlay], { cwd: tmp, timeout: 30_000 });
  }
  return { tmp, final, live };
}

/**
 * Saves the running VM: stops it, writes RAM and devices to ram.state, copies both
 * overlays as they are at that moment, writes meta.json, lets the VM run on and renames
 * the directory into place. The VM's own overlays are unlinked once it runs again (QEMU
 * keeps them open), so nothing of them outlives it. On failure the VM runs on all the
 * same, and the caller removes the unfinished directory.
 */
export async function saveRunning(qmp: Qmp, job: SaveJob, meta: Omit<SavedMeta, "savedAt" | "bytes">): Promise<void> {
  let stopped = false;
  try {
    await qmp.execute("migrate-set-parameters", { "max-bandwidth": SAVE_BANDWIDTH });
    await qmp.execute("stop");
    stopped = true;
    await qmp.execute("migrate", { uri: `exec:cat > ${shellQuote(join(job.tmp, FILES.ram))}` });
    const deadline = Date.now() + SAVE_TIMEOUT_MS;
    for (;;) {
      const status = ((await qmp.execute("query-migrate")) as { status?: string; "error-desc"?: string }) ?? {};
      if (status.status === "completed") break;
      if (status.status === "failed" || status.status === "cancelled") throw new Error(`the migration to a file ${status.status}${status["error-desc"] ? `: ${status["error-desc"]}` : ""}`);
      if (Date.now() > deadline) throw new Error(`the migration to a file did not finish within ${SAVE_TIMEOUT_MS / 1000} s`);
      await sleep(100);
    }
    // The migration has flushed and released both images: their files are complete now.
    copyFileSync(job.live.root, join(job.tmp, FILES.root));
    copyFileSync(job.live.data, join(job.tmp, FILES.data));
    const bytes = { ram: statSync(join(job.tmp, FILES.ram)).size, root: statSync(join(job.tmp, FILES.root)).size, data: statSync(join(job.tmp, FILES.data)).size };
    writeFileSync(join(job.tmp, "meta.json"), JSON.stringify({ ...meta, savedAt: new Date().toISOString(), bytes } satisfies SavedMeta, null, 2) + "\n");
    // `cont` opens the VM's own overlays again, by name: only then may they be unlinked.
    await qmp.execute("cont");
    stopped = false;
    rmSync(job.live.root);
    rmSync(job.live.data);
    rmSync(job.final, { recursive: true, force: true });
    renameSync(job.tmp, job.final);
  } finally {
    if (stopped) await qmp.execute("cont");
  }
}

/** Connects to a QEMU that was just started (its socket appears a moment later). */
export async function connectQmp(qmpSocket: string, qemuPid: number, timeoutMs = 15_000): Promise<Qmp> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await Qmp.connect(qmpSocket, 5_000);
    } catch (e) {
      if (!processAlive(qemuPid)) throw new Error("QEMU exited before its monitor answered");
      if (Date.now() > deadline) throw e;
      await sleep(50);
    }
  }
}

/**
 * Waits until QEMU has read the whole saved state, then lets the guest run. Rejects when
 * QEMU fails to load it (it then exits) or takes longer than LOAD_TIMEOUT_MS.
 */
export async function finishRestore(qmp: Qmp, qemuPid: number): Promise<void> {
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  for (;;) {
    if (!processAlive(qemuPid)) throw new Error("QEMU could not load the saved state and exited");
    const status = (await qmp.execute("query-status").catch(() => undefined)) as { status?: string } | undefined;
    // The VM was saved stopped: once loaded it waits, paused, for `cont`.
    if (status?.status === "paused" || status?.status === "postmigrate") break;
    if (status === undefined && !processAlive(qemuPid)) throw new Error("QEMU could not load the saved state and exited");
    if (Date.now() > deadline) throw new Error(`QEMU did not finish loading the saved state within ${LOAD_TIMEOUT_MS / 1000} s`);
    await sleep(50);
  }
  await qmp.execute("cont");
}
