/**
 * The VM's automatic choices, without QEMU: KVM or TCG (trial verdicts, the cache, the
 * forced setting), the idle stop, the settings, where a lab runs and what happens when
 * QEMU is missing, and the progress line. The trial boot itself needs a working KVM,
 * which this project's machines lack: only its failure path runs for real (vm.vm.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { setLanguage } from "../src/i18n/index.js";
import { UserError } from "../src/errors.js";
import { choosePlacement, isYes, qemuAction, roughDuration, vmCostLine } from "../src/lab/placement.js";
import { accelKey, decideAccel, judgeTrial, parseVerdicts, reachedUserSpace, TRIAL_MARKER, type AccelVerdict } from "../src/vm/accel.js";
import { idlePollMs, watchIdle, type IdleWatchDeps } from "../src/vm/idle.js";
import { forcedAccel, vmIdleMinutes, vmMemoryMiB, DEFAULT_MEMORY_MIB } from "../src/vm/settings.js";
import { installCommand, missingVmTools, vmToolsError } from "../src/vm/tools.js";
import { isVmDockerHost } from "../src/vm/index.js";
import { plannedSteps, progressText, stepOfPhase, withStep } from "../src/cli/vm-progress.js";

const kvmOk: AccelVerdict = { accel: "kvm", reason: "a trial boot with KVM reached user space in 2.0 s", decidedAt: "2026-01-01T00:00:00.000Z" };
const kvmBad: AccelVerdict = { accel: "tcg", reason: "a trial boot with KVM showed no sign of life within 30 s", decidedAt: "2026-01-01T00:00:00.000Z" };

describe("KVM or TCG", () => {
  it("a forced choice wins over everything", () => {
    expect(decideAccel({ forced: "kvm", device: "missing" })).toEqual({ accel: "kvm", source: "forced" });
    expect(decideAccel({ forced: "tcg", device: "usable", cached: kvmOk })).toEqual({ accel: "tcg", source: "forced" });
    expect(forcedAccel({ LVS_LAB_VM_ACCEL: "KVM" })).toBe("kvm");
    expect(forcedAccel({ LVS_LAB_VM_ACCEL: "tcg" })).toBe("tcg");
    expect(forcedAccel({ LVS_LAB_VM_ACCEL: "hvf" })).toBeUndefined();
    expect(forcedAccel({})).toBeUndefined();
  });

  it("no usable /dev/kvm: TCG at once, with a notice and no trial", () => {
    const missing = decideAccel({ device: "missing" });
    expect(missing).toMatchObject({ accel: "tcg", source: "no-kvm" });
    expect("notice" in missing && missing.notice).toContain("/dev/kvm missing");
    const denied = decideAccel({ device: "denied", cached: kvmOk });
    expect(denied).toMatchObject({ accel: "tcg", source: "no-kvm" });
    expect("notice" in denied && denied.notice).toContain("not readable and writable");
  });

  it("a usable /dev/kvm without a verdict for this kernel and QEMU: a trial decides", () => {
    expect(decideAccel({ device: "usable" })).toEqual({ trial: true });
  });

  it("a cached verdict is used without a trial; a failed one says why with the fallback", () => {
    expect(decideAccel({ device: "usable", cached: kvmOk })).toEqual({ accel: "kvm", source: "cached" });
    const bad = decideAccel({ device: "usable", cached: kvmBad });
    expect(bad).toMatchObject({ accel: "tcg", source: "cached" });
    expect("notice" in bad && bad.notice).toBe(
      "KVM did not work here earlier (a trial boot with KVM showed no sign of life within 30 s): QEMU emulates the CPU (TCG), which is slower; LVS_LAB_VM_ACCEL=kvm|tcg forces a choice",
    );
  });

  it("verdicts are kept per host kernel and QEMU version", () => {
    const a = accelKey("6.1.0-18-amd64", "QEMU emulator version 7.2.22");
    expect(accelKey("6.1.0-18-amd64", "QEMU emulator version 8.2.2")).not.toBe(a);
    expect(accelKey("6.8.0-31-generic", "QEMU emulator version 7.2.22")).not.toBe(a);
  });

  it("judges the trial: the marker alone on a line is user space; the kernel echoing its command line is not", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const ok = judgeTrial({ console: `[    1.2] Run /usr/bin/echo as init process\n${TRIAL_MARKER}\r\n[ 1.3] Kernel panic`, timedOut: false, seconds: 2.04 }, "kvm", now);
    expect(ok).toEqual({ accel: "kvm", reason: "a trial boot with KVM reached user space in 2.0 s", decidedAt: "2026-01-01T00:00:00.000Z" });
    expect(reachedUserSpace(`Kernel command line: console=ttyS0 rdinit=/usr/bin/echo -- ${TRIAL_MARKER}`)).toBe(false);
    expect(reachedUserSpace(`# qemu ... -append "... -- ${TRIAL_MARKER}"`)).toBe(false);
  });

  it("judges the trial: QEMU aborting (as on this machine) or hanging means TCG, with the cause", () => {
    // Recorded on this project's machine: /dev/kvm opens, QEMU 7.2 aborts at once.
    const aborted = [
      "# 2026-11-27T19:00:00.000Z qemu-system-x86_64 -name lvs-lab-vm-trial ...",
      "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69",
      "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.",
    ].join("\n");
    const v = judgeTrial({ console: aborted, timedOut: false, seconds: 0.3 });
    expect(v.accel).toBe("tcg");
    expect(v.reason).toMatch(/^a trial boot with KVM ended with "qemu-system-x86_64: \.\.\/\.\.\/target\/i386\/kvm\/kvm\.c:3183: kvm_buf_set_msrs: Assertion/);
    // With -cpu qemu64 the same KVM hangs without a line of output.
    expect(judgeTrial({ console: "qemu-system-x86_64: warning: host doesn't support requested feature", timedOut: true, seconds: 30 }).reason).toBe(
      "a trial boot with KVM showed no sign of life within 30 s",
    );
    expect(judgeTrial({ console: "", timedOut: false, seconds: 1 }).reason).toBe("a trial boot with KVM ended before user space");
  });

  it("reads the verdict cache defensively", () => {
    expect(parseVerdicts(undefined)).toEqual({});
    expect(parseVerdicts("not json")).toEqual({});
    expect(parseVerdicts("[1]")).toEqual({});
    expect(parseVerdicts(JSON.stringify({ a: kvmOk, b: { accel: "xen", reason: "x", decidedAt: "y" }, c: null }))).toEqual({ a: kvmOk });
  });
});

describe("a recorded engine address", () => {
  it("is the VM's when it is a loopback port the VM takes", () => {
    expect(isVmDockerHost("tcp://127.0.0.1:23750")).toBe(true);
    expect(isVmDockerHost("tcp://127.0.0.1:23849")).toBe(true);
    expect(isVmDockerHost("tcp://127.0.0.1:23850")).toBe(false);
    expect(isVmDockerHost("tcp://127.0.0.1:2375")).toBe(false);
    expect(isVmDockerHost("tcp://10.0.0.5:23750")).toBe(false);
    expect(isVmDockerHost("unix:///var/run/docker.sock")).toBe(false);
  });
});

describe("settings", () => {
  it("memory: the measured default unless a sane override", () => {
    expect(vmMemoryMiB({})).toBe(DEFAULT_MEMORY_MIB);
    expect(DEFAULT_MEMORY_MIB).toBeLessThanOrEqual(1536);
    expect(vmMemoryMiB({ LVS_LAB_VM_MEMORY_MIB: "4096" })).toBe(4096);
    expect(vmMemoryMiB({ LVS_LAB_VM_MEMORY_MIB: "512" })).toBe(DEFAULT_MEMORY_MIB);
    expect(vmMemoryMiB({ LVS_LAB_VM_MEMORY_MIB: "lots" })).toBe(DEFAULT_MEMORY_MIB);
  });

  it("idle minutes: 30 by default, 0 never, fractions for tests", () => {
    expect(vmIdleMinutes({})).toBe(30);
    expect(vmIdleMinutes({ LVS_LAB_VM_IDLE_MINUTES: "0" })).toBe(0);
    expect(vmIdleMinutes({ LVS_LAB_VM_IDLE_MINUTES: "0.5" })).toBe(0.5);
    expect(vmIdleMinutes({ LVS_LAB_VM_IDLE_MINUTES: "-3" })).toBe(30);
    expect(vmIdleMinutes({ LVS_LAB_VM_IDLE_MINUTES: " " })).toBe(30);
  });
});

/** A fake clock: sleeping advances it; instances and uses follow scripted timelines. */
function idleWorld(opts: { idleMin: number; instancesAt: (t: number) => number | undefined; usesAt?: number[]; qemuGoneAt?: number }) {
  let now = 0;
  const stops: number[] = [];
  const deps: IdleWatchDeps = {
    idleMs: opts.idleMin * 60_000,
    pollMs: idlePollMs(opts.idleMin * 60_000),
    bootedAt: 0,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    qemuAlive: () => opts.qemuGoneAt === undefined || now < opts.qemuGoneAt,
    countInstances: async () => opts.instancesAt(now),
    lastUse: () => (opts.usesAt ?? []).filter((t) => t <= now).pop(),
    stop: async () => {
      stops.push(now);
    },
  };
  return { deps, stops, now: () => now };
}

const MIN = 60_000;

describe("idle stop", () => {
  it("stops 30 min after the last instance went, give or take a poll", async () => {
    const w = idleWorld({ idleMin: 30, instancesAt: (t) => (t < 50 * MIN ? 1 : 0) });
    expect(await watchIdle(w.deps)).toBe("stopped idle");
    expect(w.stops.length).toBe(1);
    expect(w.stops[0]!).toBeGreaterThanOrEqual(79 * MIN);
    expect(w.stops[0]!).toBeLessThanOrEqual(81 * MIN + 1);
  });

  it("counts from the boot when no lab ever came", async () => {
    const w = idleWorld({ idleMin: 30, instancesAt: () => 0 });
    await watchIdle(w.deps);
    expect(w.stops[0]!).toBeGreaterThanOrEqual(30 * MIN);
    expect(w.stops[0]!).toBeLessThanOrEqual(31 * MIN);
  });

  it("a command that used the VM holds the stop off", async () => {
    const w = idleWorld({ idleMin: 30, instancesAt: () => 0, usesAt: [20 * MIN, 45 * MIN] });
    await watchIdle(w.deps);
    expect(w.stops[0]!).toBeGreaterThanOrEqual(75 * MIN);
  });

  it("an engine that does not answer is not idle", async () => {
    const w = idleWorld({ idleMin: 30, instancesAt: (t) => (t < 100 * MIN ? undefined : 0) });
    await watchIdle(w.deps);
    expect(w.stops[0]!).toBeGreaterThanOrEqual(129 * MIN);
  });

  it("ends without stopping anything when QEMU is gone (vm down)", async () => {
    const w = idleWorld({ idleMin: 30, instancesAt: () => 0, qemuGoneAt: 10 * MIN });
    expect(await watchIdle(w.deps)).toBe("qemu gone");
    expect(w.stops).toEqual([]);
  });

  it("polls at most once a minute, at least every 2 s", () => {
    expect(idlePollMs(30 * MIN)).toBe(60_000);
    expect(idlePollMs(0.5 * MIN)).toBe(2_000);
  });
});

describe("where a lab runs", () => {
  it("on the host when its kernel has the modules, whatever the VM", () => {
    expect(choosePlacement({ labId: "dr", missing: [], hostKernel: "6.1.0", platform: "linux" })).toEqual({ where: "host" });
    expect(choosePlacement({ labId: "dr", missing: [], hostKernel: "6.1.0", vm: false, platform: "linux" })).toEqual({ where: "host" });
  });

  it("in the VM by itself when the kernel lacks them, saying why in one line", () => {
    expect(choosePlacement({ labId: "tun", missing: ["ip_vs", "ipip"], hostKernel: "6.18.44-fc", platform: "linux" })).toEqual({
      where: "vm",
      why: "Lab tun needs ip_vs and ipip, which this machine's kernel (6.18.44-fc) lacks: it runs in lvs-lab's VM, a Debian kernel under QEMU.",
    });
  });

  it("in the VM with --vm even where the kernel has them", () => {
    expect(choosePlacement({ labId: "nat", missing: [], hostKernel: "6.1.0", vm: true, platform: "linux" })).toEqual({ where: "vm", why: "--vm" });
  });

  it("--no-vm on a kernel without them is refused with exit 2", () => {
    let error: unknown;
    try {
      choosePlacement({ labId: "dr", missing: ["ip_vs"], hostKernel: "6.18.44-fc", vm: false, platform: "linux" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toBe("Lab dr needs the kernel module ip_vs, which the kernel running Docker (6.18.44-fc) does not have.");
    expect((error as UserError).hint).toBe("Load `modprobe ip_vs` on the Docker host, or leave out --no-vm: lvs-lab then runs the lab in its own VM.");
  });

  it("says what the VM costs this time", () => {
    const s = { build: 60, disk: 240, boot: 40 };
    expect(vmCostLine({ running: true, built: true, diskReady: true }, s)).toBe("The VM is already running.");
    expect(vmCostLine({ running: false, built: true, diskReady: true }, s)).toBe("Booting it takes about 40 s.");
    expect(vmCostLine({ running: false, built: true, diskReady: false }, s)).toBe("This lab image is new to the VM: copying it in takes about 5 min, once (later starts about 40 s).");
    expect(vmCostLine({ running: false, built: false, diskReady: false }, s)).toBe(
      "First time: building the VM from Debian packages and copying the lab image into it, about 6 min (later starts about 40 s).",
    );
    expect(roughDuration(3)).toBe("5 s");
    expect(roughDuration(3725)).toBe("1 h 2 min");
  });
});

describe("QEMU missing", () => {
  const missing = missingVmTools(true, (c) => c !== "qemu-system-x86_64");
  const refusal = vmToolsError(missing, true, true);

  it("finds what is missing: QEMU to run, the build's tools only before the first build", () => {
    expect(missing).toEqual([{ command: "qemu-system-x86_64", package: "qemu-system-x86" }]);
    expect(missingVmTools(false, () => false).map((t) => t.package)).toEqual(["qemu-system-x86", "debootstrap", "cpio", "e2fsprogs", "dpkg"]);
    expect(missingVmTools(false, () => true)).toEqual([]);
  });

  it("root on Debian at a terminal: asked once", () => {
    expect(qemuAction({ missingPackages: ["qemu-system-x86"], aptAsRoot: true, interactive: true, refusal })).toEqual({ action: "ask", packages: ["qemu-system-x86"] });
  });

  it("not interactive: the one command to run, exit 2", () => {
    const a = qemuAction({ missingPackages: ["qemu-system-x86"], aptAsRoot: true, interactive: false, refusal });
    expect(a.action).toBe("refuse");
    const error = (a as { error: UserError }).error;
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe("The lvs-lab VM needs qemu-system-x86_64, which is not installed here.");
    expect(error.hint).toBe(
      "Install it: `apt-get install -y --no-install-recommends qemu-system-x86` (or `lvs-lab doctor --fix`), then run the same command again.",
    );
  });

  it("not root, or not Debian: never asked; sudo, or the distribution's own way", () => {
    expect(qemuAction({ missingPackages: ["qemu-system-x86"], aptAsRoot: false, interactive: true, refusal }).action).toBe("refuse");
    expect(vmToolsError(missing, true, false).hint).toContain("`sudo apt-get install -y --no-install-recommends qemu-system-x86`");
    expect(vmToolsError(missing, false, true).hint).toBe("Install QEMU (qemu-system-x86_64) with your distribution's package manager, then run the same command again.");
    expect(installCommand(["cpio", "cpio"], true)).toBe("apt-get install -y --no-install-recommends cpio");
  });

  it("nothing missing: ready; an empty answer is yes, n is no", () => {
    expect(qemuAction({ missingPackages: [], aptAsRoot: false, interactive: false, refusal })).toEqual({ action: "ready" });
    expect(isYes("")).toBe(true);
    expect(isYes("y")).toBe(true);
    expect(isYes(" No")).toBe(false);
  });
});

describe("start's VM progress", () => {
  const s = { build: 60, disk: 240, boot: 40 };

  it("plans only what is left to do", () => {
    expect(plannedSteps({ running: true, built: true, diskReady: true }, s)).toEqual([]);
    expect(plannedSteps({ running: false, built: true, diskReady: true }, s).map((x) => x.key)).toEqual(["boot"]);
    expect(plannedSteps({ running: false, built: false, diskReady: false }, s).map((x) => x.key)).toEqual(["build", "disk", "boot"]);
  });

  it("maps vmUp's phases to steps, adding the KVM trial when it happens", () => {
    const steps = plannedSteps({ running: false, built: false, diskReady: false }, s);
    expect(["download", "build", "pack", "disk", "image load", "boot", "ready"].map((p) => stepOfPhase(p, steps))).toEqual(["build", "build", "build", "disk", "disk", "boot", undefined]);
    expect(stepOfPhase("image load", [])).toBe("image");
    expect(withStep(steps, "accel", 1, s).map((x) => x.key)).toEqual(["build", "accel", "disk", "boot"]);
    expect(withStep(steps, "disk", 0, s)).toBe(steps);
  });

  it("counts down what is left, and says so when a step overruns", () => {
    const steps = plannedSteps({ running: false, built: false, diskReady: false }, s);
    expect(progressText(steps, 0, 20)).toBe("VM 1/3 building the VM (Debian packages, kernel, initramfs) · 0:20 · about 5 min left");
    expect(progressText(steps, 2, 10)).toBe("VM 3/3 booting the VM · 0:10 · about 30 s left");
    expect(progressText(steps, 2, 75)).toBe("VM 3/3 booting the VM · 1:15 · taking longer than the usual 40 s");
  });
});

describe("the VM's words in Chinese", () => {
  const s = { build: 60, disk: 240, boot: 40 };
  afterEach(() => setLanguage("en"));

  it("says what the VM costs and counts down in Chinese, durations in 秒/分钟", () => {
    setLanguage("zh-CN");
    expect(vmCostLine({ running: false, built: true, diskReady: true }, s)).toBe("启动虚拟机大约需要 40 秒。");
    expect(vmCostLine({ running: false, built: false, diskReady: false }, s)).toBe("第一次：用 Debian 软件包构建虚拟机，并把实验镜像复制进去，大约 6 分钟（以后每次启动大约 40 秒）。");
    expect(roughDuration(3725)).toBe("1 小时 2 分钟");
    const steps = plannedSteps({ running: false, built: false, diskReady: false }, s);
    expect(progressText(steps, 0, 20)).toBe("虚拟机 1/3 构建虚拟机（Debian 软件包、内核、initramfs） · 0:20 · 大约还剩 5 分钟");
    expect(progressText(steps, 2, 75)).toBe("虚拟机 3/3 启动虚拟机 · 1:15 · 比通常的 40 秒要久");
  });

  it("refuses --no-vm in Chinese, the commands untouched", () => {
    setLanguage("zh-CN");
    let error: unknown;
    try {
      choosePlacement({ labId: "dr", missing: ["ip_vs", "ipip"], hostKernel: "6.18.44-fc", vm: false, platform: "linux" });
    } catch (e) {
      error = e;
    }
    expect((error as UserError).message).toBe("实验 dr 需要内核模块 ip_vs 和 ipip，而运行 Docker 的内核（6.18.44-fc）没有。");
    expect((error as UserError).hint).toBe("在 Docker 主机上执行 `modprobe ip_vs` 和 `modprobe ipip`，或者去掉 --no-vm：lvs-lab 会在自己的虚拟机里运行这个实验。");
  });
});
