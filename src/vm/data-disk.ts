/**
 * The VM's Docker data disk: prepared once per lab image (on this host, or by a boot that
 * loads the image), then the read-only base of every normal boot. Also copies the lab image into a running
 * VM's engine when it lacks it.
 */
import { readdirSync, renameSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { Engine } from "../docker/engine.js";
import { UserError } from "../errors.js";
import { bootVm, type BootGuard } from "./boot.js";
import { hostFacts, hostRouteObstacle, prepareOnHost } from "./disk-on-host.js";
import { processAlive, type Accel } from "./qemu.js";
import type { VmPaths } from "./recipe.js";
import { t as say } from "../i18n/index.js";
import { readText, seconds, sleep, tail, type VmPhase } from "./run-state.js";

const DATA_DISK_BYTES = 16 * 1024 ** 3; // sparse; only what Docker writes takes space
const PREPARE_POWEROFF_TIMEOUT_MS = 180_000;

export async function ensureImage(
  local: Engine,
  vmEngine: Engine,
  ref: string,
  imageId: string,
  phase: (name: VmPhase, detail: string) => void,
  timings: Record<string, number>,
): Promise<void> {
  if ((await vmEngine.imageId(ref)) === imageId) return;
  const t = Date.now();
  phase("image load", say("vm.phase.imageLoad", { ref }));
  await transferImage(local, vmEngine, ref);
  timings.imageLoad = seconds(t);
  const got = await vmEngine.imageId(ref);
  if (got !== imageId) throw new Error(`after loading, the VM has ${ref} as ${got ?? "nothing"}, expected ${imageId}`);
  phase("image load", say("vm.phase.imageLoaded", { s: timings.imageLoad }));
}

async function transferImage(local: Engine, vmEngine: Engine, ref: string): Promise<void> {
  const tar = await local.saveImage(ref);
  try {
    await vmEngine.loadImage(tar);
  } finally {
    tar.destroy();
  }
}

/** What making a data disk needs: where, from which engine and image, reporting to whom. */
export interface DiskJob {
  p: VmPaths;
  local: Engine;
  ref: string;
  imageId: string;
  phase: (name: VmPhase, detail: string) => void;
  timings: Record<string, number>;
  guard: BootGuard;
  accel: Accel;
}

/**
 * The data disk with the lab image, then the read-only base of every normal boot. Made on
 * this host where it can be (disk-on-host.ts), else by one boot with a blank, writable
 * disk: the guest formats it and starts dockerd on it, we load the lab image, the guest
 * stops dockerd cleanly and powers off.
 */
export async function prepareDataDisk(job: DiskJob, disk: string): Promise<void> {
  const { p, local, ref, phase, guard } = job;
  const tmp = `${disk}.tmp-${process.pid}`;
  for (const name of readdirSync(p.recipeDir)) {
    const m = /^docker-[0-9a-f]{16}\.img\.tmp-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(p.recipeDir, name), { force: true });
  }
  const fh = await open(tmp, "w");
  await fh.truncate(DATA_DISK_BYTES);
  await fh.close();
  try {
    const obstacle = hostRouteObstacle(hostFacts(p));
    let onHost = obstacle === undefined;
    if (onHost) {
      phase("disk", say("vm.phase.diskOnHost", { ref }));
      try {
        await prepareOnHost(p, tmp, ref, local.host, (detail) => phase("disk", detail), guard);
      } catch (e) {
        if (guard.aborted) throw e;
        onHost = false;
        phase("disk", say("vm.phase.diskOnHostFailed", { error: e instanceof Error ? e.message : String(e) }));
      }
    } else {
      phase("disk", say("vm.phase.diskInVm", { why: obstacle }));
    }
    if (!onHost) await prepareInVm(job, tmp);
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

async function prepareInVm({ p, local, ref, imageId, phase, timings, guard, accel }: DiskJob, tmp: string): Promise<void> {
  phase("disk", say("vm.phase.prepareDisk", { ref }));
  const t = Date.now();
  const vm = await bootVm(p, { disk: tmp, diskSnapshot: false, prepareImage: ref }, guard, false, accel);
  await vm.waitForEngine();
  timings.prepareBoot = seconds(t);
  await ensureImage(local, new Engine(vm.dockerHost), ref, imageId, phase, timings);
  phase("disk", say("vm.phase.powerOff"));
  const deadline = Date.now() + PREPARE_POWEROFF_TIMEOUT_MS;
  while (processAlive(vm.pid) && Date.now() < deadline) await sleep(250);
  if (processAlive(vm.pid) || !/data disk ready/.test(readText(p.prepareLog) ?? "")) {
    throw new UserError(say("vm.errors.diskFailed", { log: tail(p.prepareLog) }), say("vm.errors.fullLog", { path: p.prepareLog }));
  }
  await guard.stopTracked(); // QEMU has exited; this reaps run.sh
}
