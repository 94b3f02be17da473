/**
 * The VM's automatic behaviour on real QEMU, each test in a cache of its own (hard links to
 * the built kernel, initramfs and data disk of the default cache), so that a running
 * lvs-lab VM is never touched:
 *   - an interrupted first start (during the build, during the data disk) leaves no QEMU
 *     and no half-built file behind;
 *   - the trial boot reaches user space under TCG (its success path; a working KVM is not
 *     to be had on this project's machines) and, where /dev/kvm opens, ends within its
 *     timeout whatever KVM does;
 *   - the idle stop powers off a VM without labs and says so in `vm status`;
 *   - resume: a cold start saves the VM, the next start restores it (engine, image and
 *     clock right); an interrupted restore leaves no QEMU and the saved state as it was;
 *     a damaged state and one saved by another recipe are not used (a notice, a boot);
 *     an interrupted save leaves no QEMU and no half-written state.
 * Runs with LVS_LAB_VM_TESTS=1 or LVS_LAB_REQUIRE_IPVS=1 (CI) once the default cache is built.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Engine, resolveDockerHost } from "../src/docker/engine.js";
import { labImageRef } from "../src/docker/image.js";
import { ExitCode, UserError } from "../src/errors.js";
import { kvmDevice, trialBoot, TRIAL_TIMEOUT_MS } from "../src/vm/accel-trial.js";
import { BootGuard } from "../src/vm/boot.js";
import { vmDown, vmStatus, vmUp } from "../src/vm/index.js";
import { isOurQemu, processAlive, readProcCmdline } from "../src/vm/qemu.js";
import { BUILT_FILES, cacheRoot, currentRecipeHash, vmPaths } from "../src/vm/recipe.js";

const requested = process.env.LVS_LAB_VM_TESTS === "1" || process.env.LVS_LAB_REQUIRE_IPVS === "1";
const builtDir = join(cacheRoot(), currentRecipeHash());
const built = BUILT_FILES.every((name) => existsSync(join(builtDir, name)));
const savedEnv = { ...process.env };
const scratch: string[] = [];

/** A cache of its own under /tmp, with what `files` names linked (or copied) from the default build. */
function ownCache(files: (name: string) => boolean): string {
  const base = mkdtempSync(join(tmpdir(), "lvs-lab-vmtest-"));
  scratch.push(base);
  process.env.XDG_CACHE_HOME = base;
  const dir = join(cacheRoot(), currentRecipeHash());
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(builtDir).filter((n) => files(n) && statSync(join(builtDir, n)).isFile())) {
    try {
      linkSync(join(builtDir, name), join(dir, name));
    } catch {
      copyFileSync(join(builtDir, name), join(dir, name));
    }
  }
  return cacheRoot();
}

function qemusUnder(root: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => processAlive(pid) && (readProcCmdline(pid) ?? []).some((a) => a.includes(root)) && (readProcCmdline(pid)?.[0] ?? "").includes("qemu-system"));
}

/** Starts vmUp and aborts it once `phase` has been reported and `afterMs` more have passed. */
async function interruptedUp(phase: string, afterMs: number, details: string[] = []): Promise<{ error: unknown; phases: string[] }> {
  const controller = new AbortController();
  const phases: string[] = [];
  const up = vmUp({
    labImage: labImageRef(),
    localDockerHost: resolveDockerHost(),
    signal: controller.signal,
    onPhase: (p, detail) => {
      details.push(`${p}: ${detail}`);
      phases.push(p);
      if (p === phase && phases.filter((x) => x === phase).length === 1) setTimeout(() => controller.abort(), afterMs);
    },
  });
  const error = await up.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, phases };
}

function leftovers(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      if (/\.tmp-\d+$/.test(name.name) || name.name === "qemu.pid" || name.name === "state.json" || name.name === "up.lock") found.push(join(dir, name.name));
      else if (name.isDirectory()) walk(join(dir, name.name));
    }
  };
  if (existsSync(root)) walk(root);
  return found;
}

describe.skipIf(!requested || !built)("the VM on its own (real QEMU, own cache)", () => {
  afterEach(async () => {
    // Only ever a VM of this file's own caches: never the lvs-lab VM others may be using.
    if (scratch.includes(process.env.XDG_CACHE_HOME ?? "")) await vmDown().catch(() => undefined);
    process.env = { ...savedEnv };
  }, 60_000);

  afterAll(() => {
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it("an interrupted first start, during the data disk, leaves no QEMU and no half-built disk", async () => {
    const root = ownCache((n) => (BUILT_FILES as readonly string[]).includes(n));
    const { error, phases } = await interruptedUp("disk", 5_000);
    expect(phases).toContain("disk");
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(ExitCode.interrupted);
    expect(qemusUnder(root)).toEqual([]);
    expect(leftovers(root)).toEqual([]);
    expect(readdirSync(join(root, currentRecipeHash())).filter((n) => n.startsWith("docker-"))).toEqual([]);
  }, 600_000);

  it.skipIf(process.getuid?.() !== 0)("an interrupted first build leaves no half-built recipe and nothing mounted", async () => {
    const root = ownCache(() => false);
    const { error, phases } = await interruptedUp("download", 3_000);
    expect(phases).toContain("download");
    expect((error as UserError).exitCode).toBe(ExitCode.interrupted);
    expect(readdirSync(root).filter((n) => n.includes(".tmp-"))).toEqual([]);
    expect(existsSync(join(root, currentRecipeHash(), "vmlinuz"))).toBe(false);
    expect(qemusUnder(root)).toEqual([]);
    const mounts = (await import("node:fs")).readFileSync("/proc/self/mounts", "utf8");
    expect(mounts).not.toContain(root);
  }, 600_000);

  it("the trial boot reaches user space under TCG, and leaves nothing running", async () => {
    const root = ownCache((n) => n === "vmlinuz" || n === "initrd.cpio");
    const p = vmPaths(root, currentRecipeHash());
    mkdirSync(p.stateDir, { recursive: true });
    const guard = new BootGuard(p);
    try {
      const verdict = await trialBoot(p, "tcg", 240_000, guard);
      expect(verdict.accel).toBe("tcg");
      expect(verdict.reason).toMatch(/^a trial boot with TCG reached user space in \d+\.\d s$/);
    } finally {
      await guard.dispose();
    }
    expect(qemusUnder(root)).toEqual([]);
  }, 300_000);

  it.skipIf(kvmDevice() !== "usable")("where /dev/kvm opens, the KVM trial ends within its timeout whatever KVM does", async () => {
    const root = ownCache((n) => n === "vmlinuz" || n === "initrd.cpio");
    const p = vmPaths(root, currentRecipeHash());
    mkdirSync(p.stateDir, { recursive: true });
    const guard = new BootGuard(p);
    const t = Date.now();
    try {
      const verdict = await trialBoot(p, "kvm", TRIAL_TIMEOUT_MS, guard);
      // On this project's machine QEMU aborts at once (MSR 0x10a): TCG. A working KVM says kvm.
      expect(["kvm", "tcg"]).toContain(verdict.accel);
      expect(verdict.reason).toMatch(/^a trial boot with KVM /);
    } finally {
      await guard.dispose();
    }
    expect(Date.now() - t).toBeLessThan(TRIAL_TIMEOUT_MS + 10_000);
    expect(qemusUnder(root)).toEqual([]);
  }, 120_000);

  it("stops itself after the idle time without a lab, and says so", async () => {
    const root = ownCache(() => true);
    process.env.LVS_LAB_VM_IDLE_MINUTES = "0.5";
    process.env.LVS_LAB_VM_ACCEL = "tcg"; // the accelerator is not what this is about
    await vmUp({ labImage: labImageRef(), localDockerHost: resolveDockerHost() });
    const up = await vmStatus();
    expect(up).toMatchObject({ running: true, idleMinutes: 0.5 });
    const pid = up.pid!;
    const deadline = Date.now() + 180_000;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1_000));
    expect(processAlive(pid)).toBe(false);
    const after = await vmStatus();
    expect(after.running).toBe(false);
    expect(after.stoppedIdle).toMatchObject({ idleMinutes: 0.5, pid });
    expect(qemusUnder(root)).toEqual([]);
    expect(isOurQemu(readProcCmdline(pid), root)).toBe(false);
  }, 600_000);
});

describe.skipIf(!requested || !built)("resume instead of boot (real QEMU, own cache)", () => {
  let root = "";
  const recipeDir = () => join(root, currentRecipeHash());
  const savedDirs = () => readdirSync(recipeDir()).filter((n) => n.startsWith("resume-"));
  const up = async () => {
    const details: string[] = [];
    const result = await vmUp({ labImage: labImageRef(), localDockerHost: resolveDockerHost(), onPhase: (p, d) => details.push(`${p}: ${d}`) });
    return { ...result, details, phases: details.map((d) => d.split(":")[0]) };
  };
  const meta = () => JSON.parse(readFileSync(join(recipeDir(), savedDirs()[0]!, "meta.json"), "utf8")) as { recipe: string; savedAt: string; bytes: { ram: number } };
  /** The guest's clock against this host's, from the engine's /info, half a round trip allowed for. */
  const clockOffsetSeconds = async (dockerHost: string) => {
    const t0 = Date.now();
    const info = (await (await fetch(`${dockerHost.replace("tcp://", "http://")}/info`)).json()) as { SystemTime: string };
    return (Date.parse(info.SystemTime) - (t0 + Date.now()) / 2) / 1000;
  };

  beforeEach(() => {
    process.env.LVS_LAB_VM_RESUME = "1"; // off by default (settings.ts)
  });
  afterEach(async () => {
    await vmDown().catch(() => undefined);
  }, 60_000);

  afterAll(() => {
    process.env = { ...savedEnv };
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it("a cold start saves the VM with its engine ready; the next start resumes it, with the image and the clock right", async () => {
    root = ownCache((n) => !n.startsWith("resume-"));
    process.env.LVS_LAB_VM_IDLE_MINUTES = "0";
    const first = await up();
    expect(first.phases).toContain("boot");
    expect(first.phases).toContain("save");
    expect(first.details).toContain(`save: saved in ${first.timings.save} s`);
    expect(savedDirs()).toHaveLength(1);
    expect(meta().recipe).toBe(currentRecipeHash());
    expect(leftovers(root).filter((f) => f.includes(".tmp-"))).toEqual([]);
    await vmDown();

    const second = await up();
    expect(second.phases).toContain("resume");
    expect(second.phases).not.toContain("boot");
    expect(second.timings.resume).toBeGreaterThan(0);
    const status = await vmStatus();
    expect(status).toMatchObject({ running: true, engine: true });
    expect(await new Engine(second.dockerHost).imageId(labImageRef())).toBeDefined();
    expect(Math.abs(await clockOffsetSeconds(second.dockerHost))).toBeLessThan(2);
  }, 1_200_000);

  it("an interrupted restore leaves no QEMU, and the saved state as it was", async () => {
    const before = meta();
    const { error, phases } = await interruptedUp("resume", 300);
    expect(phases).toContain("resume");
    expect((error as UserError).exitCode).toBe(ExitCode.interrupted);
    expect(qemusUnder(root)).toEqual([]);
    expect(leftovers(root)).toEqual([]);
    expect(meta()).toEqual(before);
    expect(statSync(join(recipeDir(), savedDirs()[0]!, "ram.state")).size).toBe(before.bytes.ram);
  }, 300_000);

  it("a damaged saved state is not used: a notice, a boot, and it is saved anew", async () => {
    const dir = join(recipeDir(), savedDirs()[0]!);
    const half = Math.floor(meta().bytes.ram / 2);
    truncateSync(join(dir, "ram.state"), half);
    const m = meta();
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ ...m, bytes: { ...m.bytes, ram: half } }));
    const again = await up();
    // QEMU exits on the damaged state either before or after its monitor answers: both words are true.
    expect(again.details.filter((d) => d.startsWith("notice: the saved VM"))).toEqual([
      expect.stringMatching(/^notice: the saved VM could not be resumed \(QEMU (could not load the saved state and exited|exited before its monitor answered)\): it is removed, and the VM boots instead$/),
    ]);
    expect(again.phases).toContain("boot");
    expect(again.phases).toContain("save");
    expect(meta().bytes.ram).toBeGreaterThan(half);
    expect(leftovers(root).filter((f) => f.includes(".tmp-"))).toEqual([]);
  }, 1_200_000);

  it("a state saved by another recipe is not used; an interrupted save then leaves no QEMU and no half-written state", async () => {
    const dir = join(recipeDir(), savedDirs()[0]!);
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ ...meta(), recipe: "0000000000000000" }));
    const details: string[] = [];
    const { error, phases } = await interruptedUp("save", 200, details);
    expect(details).toContain("notice: the saved VM no longer fits (saved with another recipe): the VM boots, then is saved anew");
    expect(phases).toContain("boot");
    expect((error as UserError).exitCode).toBe(ExitCode.interrupted);
    expect(qemusUnder(root)).toEqual([]);
    expect(leftovers(root)).toEqual([]);
    expect(savedDirs()).toEqual([]);
  }, 1_200_000);
});
