/**
 * The real-kernel backend: a QEMU VM running Debian 12's stock kernel (ip_vs, ipip) and
 * its own Docker engine, reachable at tcp://127.0.0.1:PORT. Labs use it through the same
 * Engine class as a local engine.
 *
 *   vmUp        build (vm/build.sh, cached per recipe hash) → data disk with the lab image
 *               (cached per image id) → boot copy-on-write over it → engine answers
 *   vmDown      stop our QEMU (SIGTERM, then SIGKILL)
 *   vmStatus    what runs, what is built
 *   vmDockerHost  tcp:// address if the VM runs and its engine answers
 *
 * QEMU is started through vm/run.sh, which kills it unless lvs-lab says "detach" on a pipe:
 * however `vm up` ends before the engine answers (error, Ctrl-C, SIGKILL), no QEMU remains.
 * After success QEMU runs on, detached, until `vm down`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { createServer } from "node:net";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync, renameSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { Engine } from "../docker/engine.js";
import { UserError, withTimeout } from "../errors.js";
import { cacheRoot, currentRecipeHash, dataDiskName, isRecipeDirName, VM_SCRIPTS_DIR, vmPaths, type VmPaths } from "./recipe.js";
import {
  FIRST_HOST_PORT,
  isOurQemu,
  parsePidFile,
  processAlive,
  processMemoryMiB,
  qemuArgv,
  readProcCmdline,
  type Accel,
  type QemuOptions,
} from "./qemu.js";

export { cacheRoot, currentRecipeHash, recipeHash, vmPaths, dataDiskName } from "./recipe.js";
export { qemuArgv, isOurQemu, kernelCmdline, VM_NAME } from "./qemu.js";

const QEMU_BIN = "qemu-system-x86_64";
const DATA_DISK_BYTES = 16 * 1024 ** 3; // sparse; only what Docker writes takes space
const BOOT_TIMEOUT_MS = 300_000;
const PREPARE_POWEROFF_TIMEOUT_MS = 180_000;

export type VmPhase = "download" | "build" | "pack" | "disk" | "boot" | "image load" | "ready" | "stop" | string;

export interface VmState {
  pid: number;
  port: number;
  dockerHost: string;
  accel: Accel;
  startedAt: string;
  bootSeconds?: number;
  recipe: string;
  disk: string;
  imageRef: string;
  imageId: string;
}

export interface VmStatus {
  running: boolean;
  dockerHost?: string;
  pid?: number;
  accel?: Accel;
  bootSeconds?: number;
  cacheDir: string;
  built: boolean;
  /** Only when running: does the engine answer (2 s budget)? */
  engine?: boolean;
  memoryMiB?: { rss: number; peak: number };
  logFile: string;
}

export interface VmUpOptions {
  labImage: string;
  localDockerHost: string;
  onPhase?: (phase: VmPhase, detail: string) => void;
  /** Aborting stops the build or the half-booted QEMU at once; vmUp then throws. */
  signal?: AbortSignal;
}

export interface VmUpResult {
  dockerHost: string;
  /** Seconds per step that ran this time (build, disk, boot, imageLoad, total). */
  timings: Record<string, number>;
}

// --- settings ------------------------------------------------------------------------

/** TCG unless LVS_LAB_VM_ACCEL=kvm: telling a working KVM from one that hangs stock kernels needs a trial boot. */
export function vmAccel(env: NodeJS.ProcessEnv = process.env): Accel {
  return env.LVS_LAB_VM_ACCEL === "kvm" ? "kvm" : "tcg";
}

function vmMemoryMiB(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.LVS_LAB_VM_MEMORY_MIB);
  return Number.isInteger(n) && n >= 1024 ? n : 6144;
}

// --- small file helpers --------------------------------------------------------------

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function readState(p: VmPaths): VmState | undefined {
  const text = readText(p.stateFile);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as VmState;
  } catch {
    return undefined;
  }
}

function writeState(p: VmPaths, s: VmState): void {
  const tmp = `${p.stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + "\n");
  renameSync(tmp, p.stateFile);
}

function removeRunFiles(p: VmPaths, onlyPid?: number): void {
  if (onlyPid !== undefined && parsePidFile(readText(p.pidFile)) !== onlyPid) return;
  for (const f of [p.pidFile, p.stateFile]) rmSync(f, { force: true });
}

function tail(file: string, lines = 15): string {
  const text = readText(file) ?? "";
  return text.split("\n").filter((l) => l.trim()).slice(-lines).join("\n");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

/** Paths resolve against the current recipe; a running VM may come from an older one (same run/ dir). */
function paths(): VmPaths {
  return vmPaths(cacheRoot(), currentRecipeHash());
}

/** The pid of our running QEMU, or undefined (stale pid/state files are removed). */
function runningPid(p: VmPaths): number | undefined {
  const pid = parsePidFile(readText(p.pidFile));
  if (pid === undefined) return undefined;
  if (processAlive(pid) && isOurQemu(readProcCmdline(pid), p.root)) return pid;
  removeRunFiles(p, pid);
  return undefined;
}

async function engineAnswers(dockerHost: string, ms: number): Promise<boolean> {
  try {
    await withTimeout(new Engine(dockerHost).info(), ms, `the VM's engine at ${dockerHost}`);
    return true;
  } catch {
    return false;
  }
}

// --- public API ----------------------------------------------------------------------

export async function vmStatus(): Promise<VmStatus> {
  const p = paths();
  const built = existsSync(p.kernel) && existsSync(p.initrd);
  const pid = runningPid(p);
  const base = { cacheDir: p.root, built, logFile: p.consoleLog };
  if (pid === undefined) return { running: false, ...base };
  const s = readState(p);
  const engine = s ? await engineAnswers(s.dockerHost, 2_000) : false;
  return {
    running: true,
    pid,
    dockerHost: s?.dockerHost,
    accel: s?.accel,
    bootSeconds: s?.bootSeconds,
    engine,
    memoryMiB: processMemoryMiB(pid),
    ...base,
  };
}

export async function vmDockerHost(): Promise<string | undefined> {
  const p = vmPaths(cacheRoot(), "_"); // run/ files only: no need to hash the recipe
  if (runningPid(p) === undefined) return undefined;
  const s = readState(p);
  if (!s || s.bootSeconds === undefined) return undefined; // still booting
  return (await engineAnswers(s.dockerHost, 2_000)) ? s.dockerHost : undefined;
}

export async function vmDown(): Promise<boolean> {
  const p = vmPaths(cacheRoot(), "_");
  const pid = runningPid(p);
  if (pid === undefined) {
    removeRunFiles(p);
    return false;
  }
  await stopPid(pid);
  removeRunFiles(p);
  return true;
}

/** SIGTERM, up to 5 s, then SIGKILL. QEMU's snapshot overlay is an unlinked temp file: nothing is left behind. */
async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 50 && processAlive(pid); i++) await sleep(100);
  if (processAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    for (let i = 0; i < 30 && processAlive(pid); i++) await sleep(100);
  }
}

export async function vmUp(opts: VmUpOptions): Promise<VmUpResult> {
  const t0 = Date.now();
  const phase = (name: VmPhase, detail: string) => opts.onPhase?.(name, detail);
  const timings: Record<string, number> = {};
  const p = paths();
  mkdirSync(p.stateDir, { recursive: true });

  const local = new Engine(opts.localDockerHost);
  const imageId = await local.imageId(opts.labImage);
  if (!imageId) {
    throw new UserError(
      `The lab image ${opts.labImage} is not in the local Docker engine (${opts.localDockerHost}).`,
      "Build it first (`lvs-lab image build`), then run `lvs-lab vm up` again.",
    );
  }

  // Already running? Healthy → make sure it has this image and return at once.
  const pid = runningPid(p);
  if (pid !== undefined) {
    const s = readState(p);
    if (s && s.bootSeconds !== undefined && (await engineAnswers(s.dockerHost, 3_000))) {
      await ensureImage(local, new Engine(s.dockerHost), opts.labImage, imageId, phase, timings);
      timings.total = seconds(t0);
      return { dockerHost: s.dockerHost, timings };
    }
  }

  const release = takeLock(p);
  const guard = new BootGuard(p);
  const onAbort = () => guard.abort();
  opts.signal?.addEventListener("abort", onAbort);
  try {
    if (opts.signal?.aborted) throw new UserError("Interrupted.");
    if (pid !== undefined) {
      // Ours but not answering (hung engine, or an interrupted boot): start over.
      phase("stop", `VM (pid ${pid}) does not answer: restarting it`);
      await stopPid(pid);
      removeRunFiles(p);
    }
    checkTools();

    const tBuild = Date.now();
    if (await ensureBuilt(p, phase, guard)) timings.build = seconds(tBuild);

    const disk = join(p.recipeDir, dataDiskName(imageId, opts.labImage));
    if (!existsSync(disk)) {
      const tDisk = Date.now();
      await prepareDataDisk(p, disk, local, opts.labImage, imageId, phase, timings, guard);
      timings.disk = seconds(tDisk);
    }

    const tBoot = Date.now();
    phase("boot", `QEMU ${vmAccel() === "kvm" ? "with KVM" : "with TCG emulation (no KVM)"}, ${vmMemoryMiB()} MiB, data disk copy-on-write`);
    const vm = await bootVm(p, { disk, diskSnapshot: true }, guard, true);
    const state: VmState = {
      pid: vm.pid,
      port: vm.port,
      dockerHost: vm.dockerHost,
      accel: vmAccel(),
      startedAt: new Date().toISOString(),
      recipe: p.hash,
      disk,
      imageRef: opts.labImage,
      imageId,
    };
    writeState(p, state);
    await vm.waitForEngine();
    timings.boot = seconds(tBoot);
    await ensureImage(local, new Engine(vm.dockerHost), opts.labImage, imageId, phase, timings);
    writeState(p, { ...state, bootSeconds: timings.boot });
    await vm.detach();
    timings.total = seconds(t0);
    phase("ready", `${vm.dockerHost} (boot ${timings.boot} s, total ${timings.total} s)`);
    return { dockerHost: vm.dockerHost, timings };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await guard.dispose();
    release();
  }
}

// --- pieces of vmUp --------------------------------------------------------------------

async function ensureImage(
  local: Engine,
  vmEngine: Engine,
  ref: string,
  imageId: string,
  phase: (name: VmPhase, detail: string) => void,
  timings: Record<string, number>,
): Promise<void> {
  if ((await vmEngine.imageId(ref)) === imageId) return;
  const t = Date.now();
  phase("image load", `copying ${ref} into the VM's engine (docker save | docker load)`);
  await transferImage(local, vmEngine, ref);
  timings.imageLoad = seconds(t);
  const got = await vmEngine.imageId(ref);
  if (got !== imageId) throw new Error(`after loading, the VM has ${ref} as ${got ?? "nothing"}, expected ${imageId}`);
  phase("image load", `done in ${timings.imageLoad} s`);
}

async function transferImage(local: Engine, vmEngine: Engine, ref: string): Promise<void> {
  const tar = await local.saveImage(ref);
  try {
    await vmEngine.loadImage(tar);
  } finally {
    tar.destroy();
  }
}

function checkTools(): void {
  if (!onPath(QEMU_BIN)) {
    throw new UserError(
      `${QEMU_BIN} is not installed; the LVS labs need it to run a kernel with ip_vs and ipip.`,
      "Install it, e.g. `apt-get install qemu-system-x86` (Debian/Ubuntu).",
    );
  }
}

/** Only one `vm up` at a time: a lock file holding the pid of the `vm up` that owns it. */
function takeLock(p: VmPaths): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(p.lockFile, "wx");
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        if (parsePidFile(readText(p.lockFile)) === process.pid) rmSync(p.lockFile, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = parsePidFile(readText(p.lockFile));
      if (owner !== undefined && owner !== process.pid && processAlive(owner)) {
        throw new UserError(`Another \`lvs-lab vm up\` (pid ${owner}) is starting the VM.`, "Wait for it to finish, then try again.");
      }
      rmSync(p.lockFile, { force: true });
    }
  }
  throw new UserError(`Cannot take the VM lock ${p.lockFile}.`, "Remove the file if no `lvs-lab vm up` is running.");
}

/**
 * Kills what a `vm up` started if it does not finish: QEMU (through the run.sh pipe, and
 * directly on SIGINT/SIGTERM/exit) and the build's process group.
 */
class BootGuard {
  private qemuPid: number | undefined;
  private wrapper: ChildProcess | undefined;
  private build: ChildProcess | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.killNow();
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
    // Let the default action (or the CLI's own handler) run now that QEMU is gone.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  private readonly onExit = () => this.killNow();

  constructor(private readonly p: VmPaths) {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
    process.on("exit", this.onExit);
  }

  track(wrapper: ChildProcess, qemuPid: number): void {
    this.wrapper = wrapper;
    this.qemuPid = qemuPid;
  }

  trackBuild(child: ChildProcess | undefined): void {
    this.build = child;
  }

  /** The VM booted: from now on it is meant to outlive us. */
  untrack(): void {
    this.wrapper = undefined;
    this.qemuPid = undefined;
  }

  abort(): void {
    this.killNow();
  }

  private killNow(): void {
    if (this.build?.pid && this.build.exitCode === null) {
      try {
        process.kill(-this.build.pid, "SIGTERM");
      } catch {
        /* gone */
      }
    }
    if (this.qemuPid !== undefined) {
      try {
        process.kill(this.qemuPid, "SIGKILL");
      } catch {
        /* gone */
      }
      removeRunFiles(this.p, this.qemuPid);
      this.qemuPid = undefined;
    }
    try {
      this.wrapper?.stdin?.end();
    } catch {
      /* closed */
    }
    if (parsePidFile(readText(this.p.lockFile)) === process.pid) rmSync(this.p.lockFile, { force: true });
  }

  /** Stops the QEMU being booted (if any) and forgets it; the guard stays armed. */
  async stopTracked(): Promise<void> {
    const pid = this.qemuPid;
    if (pid === undefined) return;
    this.wrapper?.stdin?.end(); // run.sh: SIGTERM, SIGKILL after 3 s
    await stopPid(pid);
    removeRunFiles(this.p, pid);
    this.untrack();
  }

  /** End of `vm up`: stop what did not get detached, disarm the handlers. */
  async dispose(): Promise<void> {
    await this.stopTracked();
    this.killNow();
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
    process.removeListener("exit", this.onExit);
  }
}

// --- build -----------------------------------------------------------------------------

/** Runs vm/build.sh into a temporary directory when this recipe is not built yet. True if it built. */
async function ensureBuilt(p: VmPaths, phase: (name: VmPhase, detail: string) => void, guard: BootGuard): Promise<boolean> {
  if (existsSync(p.kernel) && existsSync(p.initrd)) return false;
  if (process.getuid?.() !== 0) {
    throw new UserError(
      "Building the lvs-lab VM needs root (debootstrap and chroot make its Debian root filesystem).",
      "Run `lvs-lab vm up` once as root; later boots reuse the cached build.",
    );
  }
  const missing = ["debootstrap", "cpio", "dpkg-deb"].filter((c) => !onPath(c));
  if (missing.length) {
    throw new UserError(
      `Building the lvs-lab VM needs ${missing.join(", ")}, which ${missing.length > 1 ? "are" : "is"} not installed.`,
      "Install them, e.g. `apt-get install debootstrap cpio dpkg` (Debian/Ubuntu).",
    );
  }
  mkdirSync(p.root, { recursive: true });
  await removeStaleBuilds(p.root);
  const tmp = join(p.root, `${p.hash}.tmp-${process.pid}`);
  const logFd = openSync(p.buildLog, "w");
  const started = Date.now();
  try {
    const child = spawn("sh", [join(VM_SCRIPTS_DIR, "build.sh"), tmp], {
      stdio: ["ignore", "pipe", logFd],
      detached: true, // own process group: cleanup stops debootstrap too
      env: { ...process.env, LC_ALL: "C", DEBIAN_FRONTEND: "noninteractive" },
    });
    const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exitCode, signal) => resolve({ exitCode, signal }));
    });
    guard.trackBuild(child);
    const lines = createInterface({ input: child.stdout! });
    for await (const line of lines) {
      writeFileSync(logFd, line + "\n");
      const m = /^@@phase (\S+) ?(.*)$/.exec(line);
      if (m && m[1] !== "done") phase(m[1]!, `${m[2]} (+${Math.round((Date.now() - started) / 1000)} s)`);
    }
    const result = await exited;
    guard.trackBuild(undefined);
    if (result.exitCode !== 0 || !existsSync(join(tmp, "vmlinuz")) || !existsSync(join(tmp, "initrd.cpio"))) {
      throw new UserError(
        `Building the lvs-lab VM failed (vm/build.sh exit ${result.exitCode ?? result.signal}).\n${tail(p.buildLog)}`,
        `Full log: ${p.buildLog}. It needs a Debian mirror (LVS_LAB_DEBIAN_MIRROR, default deb.debian.org).`,
      );
    }
    rmSync(p.recipeDir, { recursive: true, force: true });
    renameSync(tmp, p.recipeDir);
    removeOtherRecipes(p);
    return true;
  } finally {
    closeSync(logFd);
    await removeTree(tmp);
  }
}

/** Unmounts anything debootstrap left mounted under dir (an interrupted build), then deletes it. */
async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const mounts = (readText("/proc/self/mounts") ?? "")
    .split("\n")
    .map((l) => (l.split(" ")[1] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execa("umount", ["-l", m], { reject: false });
  rmSync(dir, { recursive: true, force: true });
}

async function removeStaleBuilds(root: string): Promise<void> {
  for (const name of readdirSync(root)) {
    const m = /^[0-9a-f]{16}\.tmp-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) await removeTree(join(root, name));
  }
}

/** Old recipes' kernels and disks (~0.5–2 GB each), except one a running VM still uses. */
function removeOtherRecipes(p: VmPaths): void {
  const inUse = runningPid(p) !== undefined ? readState(p)?.recipe : undefined;
  for (const name of readdirSync(p.root)) {
    if (isRecipeDirName(name) && name !== p.hash && name !== inUse) rmSync(join(p.root, name), { recursive: true, force: true });
  }
  for (const name of readdirSync(p.root)) {
    const m = /^build-([0-9a-f]{16})\.log$/.exec(name);
    if (m && m[1] !== p.hash) rmSync(join(p.root, name), { force: true });
  }
}

// --- data disk ---------------------------------------------------------------------------

/**
 * One boot with a blank, writable disk: the guest formats it and starts dockerd on it, we
 * load the lab image, the guest stops dockerd cleanly and powers off. The disk is then the
 * read-only base of every normal boot.
 */
async function prepareDataDisk(
  p: VmPaths,
  disk: string,
  local: Engine,
  ref: string,
  imageId: string,
  phase: (name: VmPhase, detail: string) => void,
  timings: Record<string, number>,
  guard: BootGuard,
): Promise<void> {
  const tmp = `${disk}.tmp-${process.pid}`;
  for (const name of readdirSync(p.recipeDir)) {
    const m = /^docker-[0-9a-f]{16}\.img\.tmp-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(p.recipeDir, name), { force: true });
  }
  const fh = await open(tmp, "w");
  await fh.truncate(DATA_DISK_BYTES);
  await fh.close();
  try {
    phase("disk", `preparation boot: Docker data disk with ${ref} (once per lab image)`);
    const t = Date.now();
    const vm = await bootVm(p, { disk: tmp, diskSnapshot: false, prepareImage: ref }, guard, false);
    await vm.waitForEngine();
    timings.prepareBoot = seconds(t);
    await ensureImage(local, new Engine(vm.dockerHost), ref, imageId, phase, timings);
    phase("disk", "guest stops dockerd, unmounts the disk and powers off");
    const deadline = Date.now() + PREPARE_POWEROFF_TIMEOUT_MS;
    while (processAlive(vm.pid) && Date.now() < deadline) await sleep(250);
    if (processAlive(vm.pid) || !/data disk ready/.test(readText(p.prepareLog) ?? "")) {
      throw new UserError(`Preparing the VM's Docker data disk failed.\n${tail(p.prepareLog)}`, `Full log: ${p.prepareLog}.`);
    }
    await guard.stopTracked(); // QEMU has exited; this reaps run.sh
    const synced = await open(tmp, "r+");
    await synced.sync(); // QEMU ran with cache=unsafe: make the base disk durable before trusting it
    await synced.close();
    renameSync(tmp, disk);
    for (const name of readdirSync(p.recipeDir)) {
      if (/^docker-[0-9a-f]{16}\.img$/.test(name) && join(p.recipeDir, name) !== disk) rmSync(join(p.recipeDir, name), { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

// --- boot --------------------------------------------------------------------------------

interface BootedVm {
  pid: number;
  port: number;
  dockerHost: string;
  waitForEngine(): Promise<void>;
  detach(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function pickPort(start = FIRST_HOST_PORT, tries = 100): Promise<number> {
  for (let port = start; port < start + tries; port++) if (await portFree(port)) return port;
  throw new UserError(`No free localhost port in ${start}–${start + tries - 1} for the VM's engine.`, "Free one of them, then try again.");
}

/**
 * Starts QEMU via vm/run.sh. `recordPid`: write run/qemu.pid (normal boots; the preparation
 * boot is never "the VM"). Retries on another port if QEMU cannot bind the forward.
 */
async function bootVm(
  p: VmPaths,
  disk: Pick<QemuOptions, "disk" | "diskSnapshot" | "prepareImage">,
  guard: BootGuard,
  recordPid: boolean,
): Promise<BootedVm> {
  const log = recordPid ? p.consoleLog : p.prepareLog;
  let port = FIRST_HOST_PORT;
  for (let attempt = 0; ; attempt++) {
    port = await pickPort(port);
    const argv = qemuArgv({
      kernel: p.kernel,
      initrd: p.initrd,
      ...disk,
      hostPort: port,
      memoryMiB: vmMemoryMiB(),
      cpus: 2,
      accel: vmAccel(),
    });
    writeFileSync(log, `# ${new Date().toISOString()} ${QEMU_BIN} ${argv.join(" ")}\n`);
    const logFd = openSync(log, "a");
    const wrapper = spawn("sh", [join(VM_SCRIPTS_DIR, "run.sh"), log, QEMU_BIN, ...argv], {
      detached: true, // own session: the terminal's Ctrl-C reaches lvs-lab, which decides
      stdio: ["pipe", "pipe", logFd],
    });
    closeSync(logFd);
    const pid = await firstLine(wrapper);
    guard.track(wrapper, pid);
    if (recordPid) writeFileSync(p.pidFile, `${pid}\n`);
    const dockerHost = `tcp://127.0.0.1:${port}`;

    // QEMU exits at once if the port was taken between our check and its bind.
    await sleep(400);
    if (!processAlive(pid) && /host forwarding rule/i.test(readText(log) ?? "") && attempt < 5) {
      await guard.stopTracked();
      port++;
      continue;
    }

    return {
      pid,
      port,
      dockerHost,
      waitForEngine: async () => {
        const deadline = Date.now() + BOOT_TIMEOUT_MS;
        for (;;) {
          if (!processAlive(pid)) {
            throw new UserError(`The lvs-lab VM stopped while booting.\n${tail(log)}`, `Full console log: ${log}.`);
          }
          if (await engineAnswers(dockerHost, 4_000)) return;
          if (Date.now() > deadline) {
            throw new UserError(
              `The lvs-lab VM's Docker engine did not answer within ${BOOT_TIMEOUT_MS / 1000} s.\n${tail(log)}`,
              `Full console log: ${log}.`,
            );
          }
          await sleep(1_000);
        }
      },
      detach: async () => {
        const exited = new Promise<void>((resolve) => {
          if (wrapper.exitCode !== null) resolve();
          else wrapper.once("exit", () => resolve());
        });
        wrapper.stdin!.end("detach\n");
        await withTimeout(exited, 5_000, "the VM launcher to detach");
        guard.untrack();
        wrapper.stdout?.destroy();
        wrapper.unref();
      },
    };
  }
}

function firstLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (b: Buffer) => {
      buf += b.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        child.stdout!.off("data", onData);
        const pid = parsePidFile(buf.slice(0, nl));
        if (pid === undefined) reject(new Error(`vm/run.sh printed "${buf.slice(0, nl)}" instead of a pid`));
        else resolve(pid);
      }
    };
    child.stdout!.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`vm/run.sh exited (${code}) before starting QEMU`)));
  });
}

/** For tests and `vm status`: size of a file, 0 if missing. */
export function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Exposed for tests: removes the pid/state files if they point at no QEMU of ours. */
export function cleanStaleRunFiles(): boolean {
  const p = vmPaths(cacheRoot(), "_");
  const had = existsSync(p.pidFile);
  const pid = runningPid(p);
  if (pid === undefined && existsSync(p.stateFile)) unlinkSync(p.stateFile);
  return had && pid === undefined;
}
