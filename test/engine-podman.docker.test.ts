/**
 * Podman 4.3, for real: `podman system service --time=0 unix://…` run by a non-root user,
 * started and stopped by the test. doctor finds it at $XDG_RUNTIME_DIR/podman/podman.sock
 * and names the rule. The labs cannot work there — Podman ignores the Engine API's
 * ReadonlyPaths, so /proc/sys stays read-only in the containers (measured: the dnat
 * selftest's reference solution fails with "cannot create /proc/sys/net/ipv4/ip_forward:
 * Read-only file system") — so `start` refuses in one sentence and creates nothing.
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../src/docker/engine.js";
import { BIN, cli } from "./helpers/cli.js";
import { removeTree, ROOTLESS_USER, runtimeDir, scratch, startUserEngine, userIds } from "./helpers/engines.js";

const dir = scratch("podman");
let runtime: string;
let socket: string;
let service: { stop(): Promise<void> } | undefined;
const state = { XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: join(dir, "cache"), LVS_LAB_LANG: "en" };

describe("Podman", () => {
  beforeAll(async () => {
    chmodSync(dir, 0o755);
    runtime = runtimeDir(ROOTLESS_USER, "pdrun");
    const { uid, gid } = userIds(ROOTLESS_USER);
    mkdirSync(join(runtime, "podman"), { mode: 0o700 });
    chownSync(join(runtime, "podman"), uid, gid);
    socket = join(runtime, "podman/podman.sock");
    const log = join(dir, "podman.log");
    writeFileSync(log, "");
    service = await startUserEngine(ROOTLESS_USER, { XDG_RUNTIME_DIR: runtime }, ["podman", "system", "service", "--time=0", `unix://${socket}`], socket, log, 60_000);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    removeTree(dir);
    removeTree(runtime);
  }, 120_000);

  it("doctor finds it at $XDG_RUNTIME_DIR/podman/podman.sock and names the rule", async () => {
    const argv = ["node", BIN, "doctor", "--json"];
    const env = { ...state, PATH: process.env.PATH!, HOME: join(dir, "home"), XDG_RUNTIME_DIR: runtime, NO_COLOR: "1" };
    const r = await execa("unshare", ["-m", "sh", "-c", 'mount --bind /dev/null /run/docker.sock && exec "$@"', "sh", ...argv], { env, extendEnv: false, reject: false, timeout: 120_000 });
    const check = (JSON.parse(String(r.stdout)) as { checks: Array<{ name: string; state: string; message: string; engine?: { host: string; rule: string } }> }).checks.find((c) => c.name === "engine")!;
    expect(check, JSON.stringify(check)).toMatchObject({ state: "ok", engine: { host: `unix://${socket}`, rule: "podman-rootless" } });
    expect(check.message).toMatch(new RegExp(`^Podman 4\\.3\\.\\d+ \\(API [\\d.]+\\) at unix://${socket.replace(/\./g, "\\.")}, found by rootless Podman's socket; kernel `));
  }, 120_000);

  it("start refuses in one sentence and creates nothing", async () => {
    const r = await cli(["start", "dnat", "--name", "engine-podman", "--no-ui"], { ...state, DOCKER_HOST: `unix://${socket}` }, 180_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^lvs-lab: The labs cannot run on Podman 4\.3\.\d+: it ignores the Engine API's ReadonlyPaths, so \/proc\/sys stays read-only in the lab's containers and no step can set ip_forward, arp_ignore or rp_filter there\.\n {2}Use Docker, rootful or rootless \(`dockerd-rootless\.sh`\): --engine, DOCKER_HOST or a Docker context picks it\.$/,
    );
    const podman = new Engine(`unix://${socket}`);
    expect([await podman.listContainers(), await podman.listNetworks()]).toEqual([[], []]);
  }, 240_000);
});
