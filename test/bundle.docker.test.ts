/**
 * The offline bundle for real: created here, installed into an empty prefix by its own install.sh
 * with the npm registry unreachable, the lab image loaded back from the bundle, and the installed
 * copy proving the dnat lab.
 *
 * The engine is shared (other labs run on the lab image), so the image is never deleted: a backup
 * tag keeps its layers while the lab tag alone is removed, and the bundle must bring the tag back.
 */
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Engine } from "../src/docker/engine.js";
import { labImageRef } from "../src/docker/image.js";
import { cli } from "./helpers/cli.js";

const NO_REGISTRY = { npm_config_registry: "http://127.0.0.1:9/", NO_COLOR: "1" };

describe("offline bundle", () => {
  let dir = "";
  const backup = `lvs-lab/bundle-test-backup:${process.pid}`;
  const engine = new Engine();

  afterAll(async () => {
    // Whatever happened, the lab tag must be there again for the other labs on this engine.
    if (!(await engine.imageExists(labImageRef())) && (await engine.imageExists(backup))) await execa("docker", ["tag", backup, labImageRef()]);
    await execa("docker", ["rmi", backup], { reject: false });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("installs on a machine with no registry and no lab image, and the installed copy proves the dnat lab", async () => {
    dir = await mkdtemp(join(tmpdir(), "lvs-lab-bundle-"));
    const bundle = join(dir, "lvs-lab.tar");
    const created = await cli(["bundle", "create", bundle]);
    expect(created.code, created.stderr).toBe(0);
    const members = (await execa("tar", ["-tf", bundle])).stdout.split("\n");
    expect(members.slice(0, 2)).toEqual(["manifest.json", "install.sh"]);
    expect(members).toEqual(expect.arrayContaining(["bin/lvs-lab", "image/lab.tar", "lib/lvs-lab/package.json", "lib/lvs-lab/dist/cli/main.js", "lib/lvs-lab/node_modules/ink/package.json", "lib/lvs-lab/labs/dnat.md"]));
    // Development-only packages stay out, and so do the optional peers a devDependency installed (i18next's
    // typescript, ink's @types/react). @types/node is not one of them: protobufjs, under dockerode, depends on it.
    expect(members.filter((m) => /^lib\/lvs-lab\/node_modules\/(vitest|fast-check|typescript|@types\/react)\//.test(m))).toEqual([]);

    const ref = labImageRef();
    const imageId = await engine.imageId(ref);
    await execa("docker", ["tag", ref, backup]);
    await execa("docker", ["rmi", ref]); // only untags: the backup tag holds the layers
    expect(await engine.imageExists(ref)).toBe(false);

    const prefix = join(dir, "prefix");
    await execa("tar", ["-xf", bundle, "-C", dir, "install.sh"]);
    const began = Date.now();
    const installed = await execa("sh", [join(dir, "install.sh"), bundle, prefix], { reject: false, env: NO_REGISTRY, cwd: dir });
    const installSeconds = (Date.now() - began) / 1000;
    expect(installed.exitCode, `${installed.stdout}\n${installed.stderr}`).toBe(0);
    expect(installed.stdout).toMatch(/image lvs-lab\/lab:\w+ loaded/);
    expect(installed.stdout).toMatch(/✔ image\s+lvs-lab\/lab:\w+ present/);
    expect(installed.stdout).not.toMatch(/✘/);
    expect(await engine.imageId(ref)).toBe(imageId);
    console.log(`bundle ${(statSync(bundle).size / 1024 ** 2).toFixed(0)} MiB, install ${installSeconds.toFixed(1)} s`);

    const selftest = await execa("node", [join(prefix, "bin", "lvs-lab"), "selftest", "dnat", "--json"], { reject: false, env: NO_REGISTRY, timeout: 600_000 });
    expect(selftest.exitCode, selftest.stderr).toBe(0);
    expect((JSON.parse(selftest.stdout) as { ok: boolean }).ok).toBe(true);
  }, 900_000);
});
