/**
 * The real-kernel backend: a QEMU VM running Debian 12's stock kernel (ip_vs, ipip) and
 * its own Docker engine, reachable at tcp://127.0.0.1:PORT. Labs use it through the same
 * Engine class as a local engine.
 *
 *   vmUp        build (vm/build.sh, cached per recipe hash) → data disk with the lab image
 *               (cached per image id) → boot copy-on-write over it → engine answers
 *   vmDown      stop our QEMU (SIGTERM, then SIGKILL) and its idle watcher
 *   vmStatus    what runs, what is built, why it last stopped by itself
 *   vmDockerHost  tcp:// address if the VM runs and its engine answers (counts as use)
 *   vmStartPlan what a start would have to do first (build, data disk, boot), for estimates
 *
 * KVM is used where a trial boot proves it works (accel.ts); the VM stops itself after
 * LVS_LAB_VM_IDLE_MINUTES (default 30) without a lab instance in it (idle.ts).
 *
 * QEMU is started through vm/run.sh, which kills it unless lvs-lab says "detach" on a pipe:
 * however `vm up` ends before the engine answers (error, Ctrl-C, SIGKILL), no QEMU remains.
 * After success QEMU runs on, detached, until `vm down`.
 *
 * Files: settings.ts (memory, idle time, forced accel), accel.ts + accel-trial.ts (KVM or
 * TCG), run-state.ts (run/ pid, state and lock files), build.ts (vm/build.sh), data-disk.ts
 * (the Docker data disk, the lab image in the VM), boot.ts (QEMU through vm/run.sh, the
 * guard, stopping it), idle.ts + idle-watch.ts (the idle stop), tools.ts (QEMU and the
 * build's tools on the host), estimates.ts (how long each phase took here last time).
 */
import { existsSync, mkdirSync, closeSync, openSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../docker/engine.js";
import { ExitCode, UserError } from "../errors.js";
import { BootGuard, bootVm, engineAnswers, PORT_TRIES, stopPid, type BootedVm } from "./boot.js";
import { ensureBuilt, isBuilt } from "./build.js";
import { parseVerdicts } from "./accel.js";
import { chooseAccel, kvmDevice } from "./accel-trial.js";
import { ensureImage, prepareDataDisk } from "./data-disk.js";
import { estimatesFor, recordTimings, type VmEstimates } from "./estimates.js";
import type { IdleStopRecord } from "./idle.js";
import { isIdleWatch, startIdleWatch } from "./idle-watch.js";
import { canResume, connectQmp, hasSavedVm, ensureClockPipe, expectedMeta, findSaved, finishRestore, removeOtherSaves, resumeDir, resumeLinks, saveRunning, sendClock, settleGuest, startSave } from "./resume.js";
import { FIRST_HOST_PORT, parsePidFile, processAlive, processMemoryMiB, readProcCmdline, type Accel } from "./qemu.js";
import { cacheRoot, dataDiskName, vmPaths, type VmPaths } from "./recipe.js";
import { hostFacts, hostRouteObstacle } from "./disk-on-host.js";
import { paths, readState, readText, removeRunFiles, runningPid, seconds, sleep, writeState, type VmPhase, type VmState } from "./run-state.js";
import { t as say } from "../i18n/index.js";
import { forcedAccel, vmIdleMinutes, vmMemoryMiB, vmResumeEnabled } from "./settings.js";
import { missingVmTools, vmToolsError } from "./tools.js";

export { cacheRoot } from "./recipe.js";
export type { VmPhase } from "./run-state.js";
export type { VmEstimates } from "./estimates.js";
export { vmIdleMinutes } from "./settings.js";
export { canInstallWithApt, installCommand, installVmPackages, missingVmTools, VM_PACKAGES, vmToolsError, type MissingTool } from "./tools.js";

export interface VmStatus {
  running: boolean;
  dockerHost?: string;
  pid?: number;
  accel?: Accel;
  bootSeconds?: number;
  cacheDir: string;
  built: boolean;
  /** Only when running: does the engine answer (ENGINE_PATIENCE_MS)? */
  engine?: boolean;
  memoryMiB?: { rss: number; peak: number };
  /** Guest memory given to QEMU. */
  givenMiB?: number;
  /** Minutes without a lab after which it stops itself (0: never). */
  idleMinutes?: number;
  /** Not running because it stopped itself, idle. */
  stoppedIdle?: IdleStopRecord;
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

/** How long a running VM's engine gets to answer a ping: emulated, on a busy machine, 2 s was too short. */
const ENGINE_PATIENCE_MS = 5_000;
/** Before a start gives up on a running VM's engine (it never restarts it). */
const RUNNING_ENGINE_PATIENCE_MS = 60_000;

async function engineAnswersWithin(dockerHost: string, ms: number, stillRunning: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (stillRunning()) {
    if (await engineAnswers(dockerHost, ENGINE_PATIENCE_MS)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return false;
}

export async function vmStatus(): Promise<VmStatus> {
  const p = paths();
  const built = isBuilt(p);
  const pid = runningPid(p);
  const base = { cacheDir: p.root, built, logFile: p.consoleLog };
  if (pid === undefined) return { running: false, ...base, stoppedIdle: readIdleStop(p) };
  const s = readState(p);
  const engine = s ? await engineAnswers(s.dockerHost, ENGINE_PATIENCE_MS) : false;
  return {
    running: true,
    pid,
    dockerHost: s?.dockerHost,
    accel: s?.accel,
    bootSeconds: s?.bootSeconds,
    engine,
    memoryMiB: processMemoryMiB(pid),
    givenMiB: s?.memoryMiB,
    idleMinutes: s?.idleMinutes,
    ...base,
  };
}

function readIdleStop(p: VmPaths): IdleStopRecord | undefined {
  try {
    return JSON.parse(readText(p.stoppedFile) ?? "") as IdleStopRecord;
  } catch {
    return undefined;
  }
}

/** Phase durations to expect, for the accelerator the next boot will most likely use (no trial run here). */
export function expectedEstimates(): VmEstimates {
  const p = paths();
  const kvmProved = kvmDevice() === "usable" && Object.values(parseVerdicts(readText(p.accelFile))).some((v) => v.accel === "kvm");
  const estimates = estimatesFor(p, forcedAccel() ?? (kvmProved ? "kvm" : "tcg"), () => hostRouteObstacle(hostFacts(p)) === undefined);
  // Where a saved VM waits, the next start resumes it instead of booting.
  return vmResumeEnabled() && hasSavedVm(p) ? { ...estimates, boot: estimates.resume } : estimates;
}

/** What a start needs before the VM's engine answers: nothing, a boot, or the first-time work too. */
export interface VmStartPlan {
  running: boolean;
  built: boolean;
  /** The data disk holding this lab image exists (false also when the image is unknown). */
  diskReady: boolean;
}

export function vmStartPlan(imageId: string | undefined, labImage: string): VmStartPlan {
  const p = paths();
  const running = runningPid(p) !== undefined && readState(p)?.bootSeconds !== undefined;
  const built = isBuilt(p);
  const diskReady = imageId !== undefined && existsSync(join(p.recipeDir, dataDiskName(imageId, labImage)));
  return { running, built, diskReady };
}

export async function vmDockerHost(): Promise<string | undefined> {
  const p = vmPaths(cacheRoot(), "_"); // run/ files only: no need to hash the recipe
  if (runningPid(p) === undefined) return undefined;
  const s = readState(p);
  if (!s || s.bootSeconds === undefined) return undefined; // still booting
  markUsed(p);
  return (await engineAnswers(s.dockerHost, ENGINE_PATIENCE_MS)) ? s.dockerHost : undefined;
}

/** The shape of the VM's engine address (a port from FIRST_HOST_PORT on, on loopback): a record's host may be one. */
export function isVmDockerHost(dockerHost: string): boolean {
  const m = /^tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(dockerHost);
  return m !== null && Number(m[1]) >= FIRST_HOST_PORT && Number(m[1]) < FIRST_HOST_PORT + PORT_TRIES;
}

/** Any command that reaches for the VM holds off its idle stop (see idle.ts). */
function markUsed(p: VmPaths): void {
  try {
    const now = new Date();
    utimesSync(p.lastUseFile, now, now);
  } catch {
    try {
      writeFileSync(p.lastUseFile, "");
    } catch {
      /* the run/ directory is gone: nothing to hold off */
    }
  }
}

export async function vmDown(): Promise<boolean> {
  const p = vmPaths(cacheRoot(), "_");
  const pid = runningPid(p);
  if (pid === undefined) {
    removeRunFiles(p);
    return false;
  }
  stopIdleWatch(readState(p), pid);
  await stopPid(pid);
  removeRunFiles(p);
  return true;
}

function stopIdleWatch(s: VmState | undefined, qemuPid: number): void {
  const watch = s?.idleWatchPid;
  if (watch === undefined || !isIdleWatch(readProcCmdline(watch), qemuPid)) return;
  try {
    process.kill(watch, "SIGTERM");
  } catch {
    /* gone */
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
    throw new UserError(say("vm.errors.noLabImage", { ref: opts.labImage, host: opts.localDockerHost }), say("vm.errors.noLabImageHint"));
  }

  // Already running: make sure it has this image and return. A booted VM is never
  // restarted from here: it may be serving others' labs, only slow to answer on a busy
  // machine; one whose engine stays silent is for `vm down` to end, not a start.
  let pid = runningPid(p);
  if (pid !== undefined) {
    const s = readState(p);
    const running = pid;
    if (s && s.bootSeconds !== undefined) {
      const answered = await engineAnswersWithin(s.dockerHost, RUNNING_ENGINE_PATIENCE_MS, () => runningPid(p) === running);
      pid = runningPid(p);
      if (!answered && pid !== undefined) {
        throw new UserError(say("vm.errors.runningSilent", { pid, host: s.dockerHost, s: RUNNING_ENGINE_PATIENCE_MS / 1000 }), say("vm.errors.runningSilentHint"));
      }
      if (answered) {
        markUsed(p);
        await ensureImage(local, new Engine(s.dockerHost), opts.labImage, imageId, phase, timings);
        timings.total = seconds(t0);
        return { dockerHost: s.dockerHost, timings };
      }
    }
  }

  const release = takeLock(p);
  const guard = new BootGuard(p);
  const onAbort = () => guard.abort();
  opts.signal?.addEventListener("abort", onAbort);
  try {
    if (opts.signal?.aborted) throw new UserError(say("vm.errors.interrupted"), undefined, ExitCode.interrupted);
    if (pid !== undefined) {
      // Ours, never finished booting, and no `vm up` holds the lock any more: a boot whose
      // owner died (run.sh normally takes QEMU along). Start over.
      phase("stop", say("vm.phase.restart", { pid }));
      await stopPid(pid);
      removeRunFiles(p);
    }
    const missing = missingVmTools(isBuilt(p));
    if (missing.length) throw vmToolsError(missing);

    const tBuild = Date.now();
    if (await ensureBuilt(p, phase, guard)) timings.build = seconds(tBuild);
    const tAccel = Date.now();
    const { accel, notice } = await chooseAccel(p, phase, guard);
    if (notice) phase("notice", notice);
    if (Date.now() - tAccel > 1_000) timings.accel = seconds(tAccel);

    const disk = join(p.recipeDir, dataDiskName(imageId, opts.labImage));
    if (!existsSync(disk)) {
      const tDisk = Date.now();
      await prepareDataDisk({ p, local, ref: opts.labImage, imageId, phase, timings, guard, accel }, disk);
      timings.disk = seconds(tDisk);
    }

    const tBoot = Date.now();
    const memoryMiB = vmMemoryMiB();
    const idleMinutes = vmIdleMinutes();
    rmSync(p.stoppedFile, { force: true });
    const { vm, resumed } = await resumeOrBoot(p, disk, guard, accel, phase, timings);
    const state: VmState = {
      pid: vm.pid,
      port: vm.port,
      dockerHost: vm.dockerHost,
      accel,
      startedAt: new Date().toISOString(),
      recipe: p.hash,
      disk,
      imageRef: opts.labImage,
      imageId,
      memoryMiB,
      idleMinutes,
    };
    writeState(p, state);
    if (resumed) timings.resume = seconds(tBoot);
    else timings.boot = seconds(tBoot);
    await ensureImage(local, new Engine(vm.dockerHost), opts.labImage, imageId, phase, timings);
    const bootSeconds = seconds(tBoot);
    writeState(p, { ...state, bootSeconds });
    await vm.detach();
    if (idleMinutes > 0) writeState(p, { ...state, bootSeconds, idleWatchPid: startIdleWatch(p, vm.pid, vm.dockerHost, idleMinutes) });
    timings.total = seconds(t0);
    recordTimings(p, accel, timings);
    phase("ready", say("vm.phase.ready", { host: vm.dockerHost, boot: bootSeconds, total: timings.total }));
    return { dockerHost: vm.dockerHost, timings };
  } catch (e) {
    // The guard has killed QEMU and the build; say so rather than what the kill broke.
    if (opts.signal?.aborted) throw new UserError(say("vm.errors.interruptedNothingKept"), undefined, ExitCode.interrupted);
    throw e;
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await guard.dispose();
    release();
  }
}

// --- pieces of vmUp --------------------------------------------------------------------

/** After a restore the engine answers within a second or two; a state that does not get there is no good. */
const RESUME_ENGINE_PATIENCE_MS = 30_000;
const SETTLE_REPORT_MS = 3_000;

/**
 * The VM with its engine answering: restored from the state saved for this data disk when
 * there is one that fits (resume.ts), else booted, and then saved for the next start.
 * A saved state that fails to restore is removed, with a notice, and the VM boots.
 */
async function resumeOrBoot(p: VmPaths, disk: string, guard: BootGuard, accel: Accel, phase: (name: VmPhase, detail: string) => void, timings: Record<string, number>): Promise<{ vm: BootedVm; resumed: boolean }> {
  const bootLine = () => phase("boot", say(accel === "kvm" ? "vm.phase.bootKvm" : "vm.phase.bootTcg", { memory: vmMemoryMiB() }));
  if (!canResume() || !vmResumeEnabled()) {
    bootLine();
    const vm = await bootVm(p, { disk, diskSnapshot: true }, guard, true, accel);
    await vm.waitForEngine();
    return { vm, resumed: false };
  }
  const links = resumeLinks(p);
  ensureClockPipe(links.clockPipe);
  const dir = resumeDir(p, disk);
  removeOtherSaves(p, dir);
  const expected = expectedMeta(p, disk, accel);
  const saved = findSaved(dir, expected);
  if (saved.kind === "saved") {
    phase("resume", say("vm.phase.resume", { at: saved.meta.savedAt.slice(0, 16).replace("T", " ") }));
    try {
      const vm = await bootVm(p, { overlays: { root: join(dir, "root.qcow2"), data: join(dir, "data.qcow2"), snapshot: true }, ...links, incoming: join(dir, "ram.state") }, guard, true, accel);
      if (guard.aborted) throw new Error("interrupted");
      const tLoad = Date.now();
      const qmp = await connectQmp(links.qmpSocket, vm.pid);
      try {
        await finishRestore(qmp, vm.pid);
      } finally {
        qmp.close();
      }
      timings.stateLoad = seconds(tLoad);
      await vm.waitForEngine(RESUME_ENGINE_PATIENCE_MS);
      // The guest wakes with the time it was saved at. Sent once it answers: a guest
      // that is still catching up would read it late, and set a clock behind.
      sendClock(links.clockPipe);
      return { vm, resumed: true };
    } catch (e) {
      if (guard.aborted) throw e;
      await guard.stopTracked();
      rmSync(dir, { recursive: true, force: true });
      phase("notice", say("vm.phase.resumeFailed", { why: e instanceof Error ? e.message.split("\n")[0] : String(e) }));
    }
  } else if (saved.kind !== "none") {
    rmSync(saved.dir, { recursive: true, force: true });
    phase("notice", say(saved.kind === "stale" ? "vm.phase.resumeStale" : "vm.phase.resumeCorrupt", { why: saved.why }));
  }
  const job = startSave(p, disk);
  try {
    bootLine();
    const vm = await bootVm(p, { overlays: { ...job.live, snapshot: false }, ...links }, guard, true, accel);
    await vm.waitForEngine();
    phase("save", say("vm.phase.save"));
    const tSave = Date.now();
    // Pages the guest frees are handed back to QEMU about 2 s later (free page reporting):
    // then they are saved as zero pages, and a restored VM does not hold them.
    if (await settleGuest(links.clockPipe)) await sleep(SETTLE_REPORT_MS);
    const qmp = await connectQmp(links.qmpSocket, vm.pid);
    try {
      await saveRunning(qmp, job, expected);
      timings.save = seconds(tSave);
      phase("save", say("vm.phase.saved", { s: timings.save }));
    } catch (e) {
      if (guard.aborted) throw e;
      phase("notice", say("vm.phase.saveFailed", { why: e instanceof Error ? e.message : String(e) }));
    } finally {
      qmp.close();
    }
    return { vm, resumed: false };
  } finally {
    // Whatever happened: no half-written save stays (a running VM keeps its open overlays).
    rmSync(job.tmp, { recursive: true, force: true });
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
        throw new UserError(say("vm.errors.lockHeld", { pid: owner }), say("vm.errors.lockHeldHint"));
      }
      rmSync(p.lockFile, { force: true });
    }
  }
  throw new UserError(say("vm.errors.noLock", { path: p.lockFile }), say("vm.errors.noLockHint"));
}
