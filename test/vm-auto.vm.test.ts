/**
 * The VM's automatic behaviour on real QEMU, each test in a cache of its own (hard links to
 * the built kernel, initramfs and data disk of the default cache), so that a running
 * lvs-lab VM is never touched:
 *   - an interrupted first start (during the build, during the data disk) leaves no QEMU
 *     and no half-built file behind;
 *   - the trial boot reaches user space under TCG (its success path; a working KVM is not
 *     to be had on this project's machines) and, where /dev/kvm opens, ends within its
 *     timeout whatever KVM does;
 *   - the idle stop powers off a VM without labs and says so in `vm status`.
 * Runs with LVS_LAB_VM_TESTS=1 or LVS_LAB_REQUIRE_IPVS=1 (CI) once the default cache is built.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { resolveDockerHost } from "../src/docker/engine.js";
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
  for (const name of readdirSync(builtDir).filter(files)) {
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
async function interruptedUp(phase: string, afterMs: number): Promise<{ error: unknown; phases: string[] }> {
  const controller = new AbortController();
  const phases: string[] = [];
  const up = vmUp({
    labImage: labImageRef(),
    localDockerHost: resolveDockerHost(),
    signal: controller.signal,
    onPhase: (p) => {
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
