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
 *
 * Files: settings.ts (accel, memory), run-state.ts (run/ pid, state and lock files),
 * build.ts (vm/build.sh), data-disk.ts (the Docker data disk, the lab image in the VM),
 * boot.ts (QEMU through vm/run.sh, the guard, stopping it).
 */
import { existsSync, mkdirSync, closeSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../docker/engine.js";
import { UserError } from "../errors.js";
import { BootGuard, bootVm, engineAnswers, stopPid } from "./boot.js";
import { ensureBuilt } from "./build.js";
import { ensureImage, prepareDataDisk } from "./data-disk.js";
import { parsePidFile, processAlive, processMemoryMiB, type Accel } from "./qemu.js";
import { cacheRoot, dataDiskName, vmPaths, type VmPaths } from "./recipe.js";
import { onPath, paths, readState, readText, removeRunFiles, runningPid, seconds, writeState, type VmPhase, type VmState } from "./run-state.js";
import { QEMU_BIN, vmAccel, vmMemoryMiB } from "./settings.js";

export { cacheRoot } from "./recipe.js";
export type { VmPhase } from "./run-state.js";

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
