/**
 * The VM's data disk made on this host (vm/prepare-on-host.sh) for real: a private dockerd
 * loads the lab image from the host's engine into a loop-mounted ext4 file. The disk must
 * then hold the image under Docker's own layout, as the VM's dockerd will read it, and
 * nothing of the private dockerd may outlive the run, finished or interrupted.
 * Needs root (mount) and a dockerd of the VM's version, as the route itself does.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../src/docker/engine.js";
import { ensureLabImage } from "../src/docker/image.js";
import { BootGuard } from "../src/vm/boot.js";
import { prepareOnHost } from "../src/vm/disk-on-host.js";
import { vmPaths } from "../src/vm/recipe.js";

const engine = new Engine();
const root = mkdtempSync(join(tmpdir(), "lvs-disk-test-"));
const p = vmPaths(root, "0123456789abcdef");
let ref = "";

/** Mounts and private dockerds of this test's directories still there. */
function leftovers(): string[] {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").filter((l) => l.includes(tmpdir() + "/lvs-lab-disk-") || l.includes(root));
  const dockerds = execFileSync("sh", ["-c", "pgrep -af 'dockerd --data-root /tmp/lvs-lab-dis[k]-' || true"], { encoding: "utf8" }).trim();
  return [...mounts, ...(dockerds ? [dockerds] : [])];
}

function blankDisk(name: string): string {
  const disk = join(root, name);
  writeFileSync(disk, "");
  truncateSync(disk, 4 * 1024 ** 3);
  return disk;
}

beforeAll(async () => {
  mkdirSync(p.stateDir, { recursive: true });
  ref = await ensureLabImage(engine, () => undefined);
}, 600_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the data disk made on this host", () => {
  it("holds the lab image under Docker's layout, with no network state, and leaves nothing running or mounted", async () => {
    const disk = blankDisk("disk.img");
    const guard = new BootGuard(p);
    const phases: string[] = [];
    await prepareOnHost(p, disk, ref, engine.host, (d) => phases.push(d), guard);
    await guard.dispose();
    expect(phases).toEqual([
      "formatting the data disk (ext4, as the guest's init formats it)",
      "starting a private dockerd on it (no bridge, no iptables rules)",
      `loading the image: docker save ${ref} | docker load (native speed)`,
    ]);
    expect(leftovers()).toEqual([]);
    const mnt = join(root, "check");
    mkdirSync(mnt);
    execFileSync("mount", ["-o", "loop,ro", disk, mnt]);
    try {
      const repositories = JSON.parse(readFileSync(join(mnt, "image/overlay2/repositories.json"), "utf8")) as { Repositories: Record<string, Record<string, string>> };
      expect(repositories.Repositories[ref.split(":")[0]!]![ref]).toBe(await engine.imageId(ref));
      expect(existsSync(join(mnt, "network"))).toBe(false);
      expect(execFileSync("blkid", ["-o", "value", "-s", "LABEL", disk], { encoding: "utf8" }).trim()).toBe("lvslab-docker");
    } finally {
      execFileSync("umount", [mnt]);
    }
  }, 300_000);

  it("stops its dockerd and unmounts the disk when interrupted while loading", async () => {
    const disk = blankDisk("interrupted.img");
    const guard = new BootGuard(p);
    const run = prepareOnHost(p, disk, ref, engine.host, (d) => d.startsWith("loading the image") && guard.abort(), guard);
    await expect(run).rejects.toThrow(/^vm\/prepare-on-host\.sh exit /);
    await guard.dispose();
    expect(leftovers()).toEqual([]);
  }, 300_000);
});
