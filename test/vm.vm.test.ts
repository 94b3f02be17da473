/**
 * Boots the real lvs-lab VM (QEMU, Debian kernel). Slow: ≈35 s from cache, several
 * minutes cold. Runs only with LVS_LAB_VM_TESTS=1; needs the lab image in the local
 * engine (LVS_LAB_VM_TEST_IMAGE, else the current labImageRef(), else lvs-lab/lab:dev).
 */
import { readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Engine, resolveDockerHost } from "../src/docker/engine.js";
import { labImageRef } from "../src/docker/image.js";
import { cacheRoot, vmDockerHost, vmDown, vmStatus, vmUp } from "../src/vm/index.js";
import { isOurQemu, processAlive, readProcCmdline } from "../src/vm/qemu.js";

const enabled = process.env.LVS_LAB_VM_TESTS === "1";

function ourQemuPids(): number[] {
  const root = cacheRoot();
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => processAlive(pid) && isOurQemu(readProcCmdline(pid), root));
}

async function pickImage(local: Engine): Promise<string> {
  if (process.env.LVS_LAB_VM_TEST_IMAGE) return process.env.LVS_LAB_VM_TEST_IMAGE;
  const ref = labImageRef();
  return (await local.imageExists(ref)) ? ref : "lvs-lab/lab:dev";
}

describe.skipIf(!enabled)("lvs-lab VM (real kernel)", () => {
  const local = new Engine(resolveDockerHost());
  let image = "";
  let dockerHost = "";

  afterAll(async () => {
    await vmDown();
  }, 30_000);

  it("boots and its engine answers", async () => {
    image = await pickImage(local);
    const phases: string[] = [];
    const r = await vmUp({ labImage: image, localDockerHost: local.host, onPhase: (p) => phases.push(p) });
    dockerHost = r.dockerHost;
    expect(dockerHost).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(phases).toContain("boot");
    expect(await vmDockerHost()).toBe(dockerHost);
    const s = await vmStatus();
    expect(s).toMatchObject({ running: true, built: true, engine: true, dockerHost });
    expect(["kvm", "tcg"]).toContain(s.accel); // the trial boot decides (accel.ts)
    expect(s.bootSeconds).toBeGreaterThan(0);
    const info = await new Engine(dockerHost).info();
    expect(info.kernel).toMatch(/^6\.1\.0-\d+-amd64$/);
  }, 1_800_000);

  it("is idempotent: a second up returns the running VM at once", async () => {
    const t = Date.now();
    const r = await vmUp({ labImage: image, localDockerHost: local.host });
    expect(r.dockerHost).toBe(dockerHost);
    expect(Date.now() - t).toBeLessThan(10_000);
  }, 60_000);

  it("gives containers ip_vs and ipip", async () => {
    const vm = new Engine(dockerHost);
    const r = await vm.runOnce(
      image,
      ["sh", "-c", "test -e /proc/net/ip_vs && ip link show tunl0 && ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -Ln"],
      "ipvs probe in the VM",
      ["NET_ADMIN"],
    );
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("tunl0");
    expect(r.stdout).toMatch(/TCP\s+10\.0\.0\.1:80 rr/);
  }, 120_000);

  it("vm down leaves no QEMU behind", async () => {
    expect(ourQemuPids().length).toBe(1);
    expect(await vmDown()).toBe(true);
    expect(ourQemuPids()).toEqual([]);
    const t = Date.now();
    expect(await vmDockerHost()).toBeUndefined();
    expect(Date.now() - t).toBeLessThan(1_000);
    expect((await vmStatus()).running).toBe(false);
    expect(await vmDown()).toBe(false);
  }, 60_000);
});
