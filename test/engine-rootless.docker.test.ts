/**
 * Rootless Docker, for real: dockerd-rootless.sh (docker.io's, under rootlesskit with
 * slirp4netns) run by a non-root user with subordinate ids, started and stopped by the test.
 * doctor finds it at $XDG_RUNTIME_DIR/docker.sock where there is no /var/run/docker.sock
 * (hidden with unshare -m) and names the rule; `selftest dnat` passes on it, the lab image
 * loaded with `lvs-lab image load`.
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cli } from "./helpers/cli.js";
import { removeTree, ROOTLESS_USER, runtimeDir, savedLabImage, scratch, startUserEngine, userIds } from "./helpers/engines.js";

const dir = scratch("rootless");
let runtime: string;
let engine: { stop(): Promise<void> } | undefined;
const state = { XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: join(dir, "cache"), LVS_LAB_LANG: "en" };

describe("rootless Docker", () => {
  beforeAll(async () => {
    runtime = runtimeDir(ROOTLESS_USER, "rlrun");
    // The user's daemon reaches its data directory through the test's.
    chmodSync(dir, 0o755);
    const data = join(dir, "data");
    mkdirSync(data);
    const { uid, gid } = userIds(ROOTLESS_USER);
    chownSync(data, uid, gid);
    writeFileSync(join(data, "daemon.json"), "{}\n");
    const log = join(dir, "dockerd.log");
    writeFileSync(log, "");
    engine = await startUserEngine(
      ROOTLESS_USER,
      { XDG_RUNTIME_DIR: runtime },
      ["/usr/share/docker.io/contrib/dockerd-rootless.sh", "--data-root", join(data, "root"), "--pidfile", join(data, "dockerd.pid"), "--config-file", join(data, "daemon.json")],
      join(runtime, "docker.sock"),
      log,
      120_000,
    );
  }, 180_000);

  afterAll(async () => {
    await engine?.stop();
    removeTree(dir);
    removeTree(runtime);
  }, 120_000);

  it("doctor finds it at $XDG_RUNTIME_DIR/docker.sock where there is no /var/run/docker.sock", async () => {
    const argv = ["node", BIN, "doctor", "--json"];
    const env = { ...state, PATH: process.env.PATH!, HOME: join(dir, "home"), XDG_RUNTIME_DIR: runtime, NO_COLOR: "1" };
    const r = await execa("unshare", ["-m", "sh", "-c", 'mount --bind /dev/null /run/docker.sock && exec "$@"', "sh", ...argv], { env, extendEnv: false, reject: false, timeout: 120_000 });
    const check = (JSON.parse(String(r.stdout)) as { checks: Array<{ name: string; state: string; message: string; engine?: { host: string; rule: string } }> }).checks.find((c) => c.name === "engine")!;
    expect(check, JSON.stringify(check)).toMatchObject({ state: "ok", engine: { host: `unix://${runtime}/docker.sock`, rule: "rootless" } });
    expect(check.message).toMatch(new RegExp(`^Docker \\S+ \\(API [\\d.]+\\) at unix://${runtime}/docker\\.sock, found by rootless Docker's socket; kernel `));
  }, 120_000);

  it("selftest dnat passes on it", async () => {
    const env = { ...state, DOCKER_HOST: `unix://${runtime}/docker.sock` };
    const load = await cli(["image", "load", savedLabImage(dir)], env, 600_000);
    expect(load.code, load.stderr).toBe(0);
    const r = await cli(["selftest", "dnat", "--json"], env, 1_200_000);
    const report = JSON.parse(r.stdout) as { ok: boolean; engines: string[] };
    expect(report, r.stderr).toMatchObject({ ok: true, engines: [`unix://${runtime}/docker.sock`] });
    expect(r.code).toBe(0);
  }, 1_900_000);
});
