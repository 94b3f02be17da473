/**
 * `doctor` names the right engine by the right rule, each against a real engine the test
 * starts: a second dockerd (its own --data-root, --exec-root and --pidfile; no bridge, no
 * iptables) listening on a plain unix socket, Docker Desktop's and rootless Docker's socket
 * paths and a tcp port, and a rootful Podman service on /run/podman/podman.sock. Contexts are
 * made with the docker CLI itself. Where the default socket must be absent, the CLI runs in a
 * mount namespace of its own (`unshare -m`) with /dev/null bound over /run/docker.sock.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "./helpers/cli.js";
import { scratch, sh, startDockerd, waitForEngine, type Dockerd } from "./helpers/engines.js";
import { execa } from "execa";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, rmSync } from "node:fs";

const dir = scratch("discovery");
const home = join(dir, "home");
const runtime = join(dir, "run");
const plain = join(dir, "engine.sock");
const desktop = join(home, ".docker/run/docker.sock");
const rootless = join(runtime, "docker.sock");
const PORT = 23820;
const PODMAN_SOCKET = "/run/podman/podman.sock";
let engine: Dockerd;
let podman: ChildProcess | undefined;

interface EngineCheck {
  name: string;
  state: string;
  message: string;
  fix?: string;
  engine?: { host: string; rule: string; context?: string };
}

/** doctor --json's engine check, run with exactly this environment (no DOCKER_* from the test's own). */
async function doctor(env: Record<string, string>, args: string[] = [], opts: { hideDefaultSocket?: boolean } = {}): Promise<EngineCheck> {
  const base = { PATH: process.env.PATH!, HOME: home, NO_COLOR: "1", XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: join(dir, "cache"), LVS_LAB_LANG: "en" };
  const argv = ["node", BIN, ...args, "doctor", "--json"];
  const cmd = opts.hideDefaultSocket ? ["unshare", "-m", "sh", "-c", 'mount --bind /dev/null /run/docker.sock && exec "$@"', "sh", ...argv] : argv;
  const r = await execa(cmd[0]!, cmd.slice(1), { env: { ...base, ...env }, extendEnv: false, reject: false, timeout: 120_000 });
  let parsed: { checks: EngineCheck[] };
  try {
    parsed = JSON.parse(String(r.stdout)) as { checks: EngineCheck[] };
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.exitCode}):\n${String(r.stdout)}\n${String(r.stderr)}`);
  }
  return parsed.checks.find((c) => c.name === "engine")!;
}

const KERNEL = sh("uname", ["-r"]).trim();
const found = (host: string, rule: string) => new RegExp(`^Docker \\S+ \\(API [\\d.]+\\) at ${host.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}, found by ${rule.replace(/[()]/g, "\\$&")}; kernel ${KERNEL.replace(/\./g, "\\.")}$`);

describe("doctor finds the engine as the docker CLI does, and says by which rule", () => {
  beforeAll(async () => {
    mkdirSync(home, { recursive: true });
    mkdirSync(runtime, { recursive: true, mode: 0o700 });
    engine = await startDockerd({ name: "disc", unixSockets: [plain, desktop, rootless], tcp: `tcp://127.0.0.1:${PORT}` });
    // Contexts as the docker CLI writes them ($DOCKER_CONFIG/contexts/meta/<sha256>/meta.json).
    const config = join(home, ".docker");
    sh("docker", ["--config", config, "context", "create", "lab-engine", "--docker", `host=unix://${plain}`]);
    sh("docker", ["--config", config, "context", "create", "lab-tcp", "--docker", `host=tcp://127.0.0.1:${PORT}`]);
  }, 120_000);

  afterAll(async () => {
    if (podman) {
      try {
        process.kill(-podman.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      await new Promise((r) => setTimeout(r, 1000));
      rmSync(PODMAN_SOCKET, { force: true });
    }
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("unix: --engine and DOCKER_HOST", async () => {
    const byOption = await doctor({}, ["--engine", `unix://${plain}`]);
    expect(byOption).toMatchObject({ state: "ok", engine: { host: `unix://${plain}`, rule: "engine-option" } });
    expect(byOption.message).toMatch(found(`unix://${plain}`, "--engine"));
    const byEnv = await doctor({ DOCKER_HOST: `unix://${plain}` });
    expect(byEnv).toMatchObject({ state: "ok", engine: { host: `unix://${plain}`, rule: "DOCKER_HOST" } });
    expect(byEnv.message).toMatch(found(`unix://${plain}`, "DOCKER_HOST"));
  }, 120_000);

  it("tcp: DOCKER_HOST", async () => {
    const check = await doctor({ DOCKER_HOST: `tcp://127.0.0.1:${PORT}` });
    expect(check).toMatchObject({ state: "ok", engine: { host: `tcp://127.0.0.1:${PORT}`, rule: "DOCKER_HOST" } });
    expect(check.message).toMatch(found(`tcp://127.0.0.1:${PORT}`, "DOCKER_HOST"));
  }, 120_000);

  it("the current context of config.json, DOCKER_CONTEXT over it, --context over DOCKER_HOST", async () => {
    sh("docker", ["--config", join(home, ".docker"), "context", "use", "lab-engine"]);
    try {
      const current = await doctor({});
      expect(current).toMatchObject({ state: "ok", engine: { host: `unix://${plain}`, rule: "config-context", context: "lab-engine" } });
      expect(current.message).toMatch(found(`unix://${plain}`, "Docker context lab-engine (currentContext of config.json)"));
      const env = await doctor({ DOCKER_CONTEXT: "lab-tcp" });
      expect(env).toMatchObject({ state: "ok", engine: { host: `tcp://127.0.0.1:${PORT}`, rule: "DOCKER_CONTEXT", context: "lab-tcp" } });
      expect(env.message).toMatch(found(`tcp://127.0.0.1:${PORT}`, "Docker context lab-tcp (DOCKER_CONTEXT)"));
    } finally {
      sh("docker", ["--config", join(home, ".docker"), "context", "use", "default"]);
    }
    const option = await doctor({ DOCKER_HOST: "unix:///var/run/docker.sock" }, ["--context", "lab-tcp"]);
    expect(option).toMatchObject({ state: "ok", engine: { host: `tcp://127.0.0.1:${PORT}`, rule: "context-option", context: "lab-tcp" } });
  }, 180_000);

  it("Docker Desktop's ~/.docker/run/docker.sock where there is no /var/run/docker.sock", async () => {
    const check = await doctor({}, [], { hideDefaultSocket: true });
    expect(check).toMatchObject({ state: "ok", engine: { host: `unix://${desktop}`, rule: "desktop" } });
    expect(check.message).toMatch(found(`unix://${desktop}`, "Docker Desktop's socket"));
  }, 120_000);

  it("rootless Docker's $XDG_RUNTIME_DIR/docker.sock where neither of those is there", async () => {
    const check = await doctor({ HOME: join(dir, "empty-home"), XDG_RUNTIME_DIR: runtime }, [], { hideDefaultSocket: true });
    expect(check).toMatchObject({ state: "ok", engine: { host: `unix://${rootless}`, rule: "rootless" } });
    expect(check.message).toMatch(found(`unix://${rootless}`, "rootless Docker's socket"));
  }, 120_000);

  it("Podman's /run/podman/podman.sock (a rootful podman system service) after the Docker sockets", async () => {
    expect(existsSync(PODMAN_SOCKET)).toBe(false);
    mkdirSync("/run/podman", { recursive: true });
    const log = join(dir, "podman.log");
    podman = spawn("podman", ["system", "service", "--time=0", `unix://${PODMAN_SOCKET}`], { detached: true, stdio: ["ignore", openSync(log, "a"), openSync(log, "a")] });
    await waitForEngine(PODMAN_SOCKET, 60_000, log);
    const check = await doctor({ HOME: join(dir, "empty-home"), XDG_RUNTIME_DIR: join(dir, "no-runtime") }, [], { hideDefaultSocket: true });
    expect(check, JSON.stringify(check)).toMatchObject({ state: "ok", engine: { host: `unix://${PODMAN_SOCKET}`, rule: "podman" } });
    expect(check.message).toMatch(new RegExp(`^Podman 4\\.3\\.\\d+ \\(API [\\d.]+\\) at unix://${PODMAN_SOCKET.replace(/\./g, "\\.")}, found by Podman's socket; kernel `));
  }, 120_000);

  it("an engine that does not answer: the fix fits the rule, and never installs a second engine", async () => {
    const option = await doctor({}, ["--engine", "tcp://127.0.0.1:1"]);
    expect(option).toMatchObject({
      state: "fail",
      message: "found by --engine: The Docker engine at tcp://127.0.0.1:1 is not reachable (econnrefused).",
      fix: "Start the engine at tcp://127.0.0.1:1, or give another --engine (without it lvs-lab looks for one itself).",
    });
    const gone = join(dir, "gone.sock");
    const env = await doctor({ DOCKER_HOST: `unix://${gone}` });
    expect(env).toMatchObject({
      state: "fail",
      message: `found by DOCKER_HOST: The Docker engine at unix://${gone} is not reachable (no socket there).`,
      fix: `Start the engine at unix://${gone}, or correct DOCKER_HOST (unset, lvs-lab looks for an engine itself).`,
    });
    const context = await doctor({ DOCKER_CONTEXT: "nowhere" });
    expect(context).toMatchObject({ state: "fail", message: `There is no Docker context "nowhere" (${home}/.docker/contexts/meta/${sh("sh", ["-c", "printf nowhere | sha256sum"]).split(" ")[0]}/meta.json is missing).` });
  }, 120_000);
});
