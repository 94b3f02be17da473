/**
 * ssh://: a loopback sshd started by the test (its own host key, config and authorized key,
 * made here), through which dockerode runs `docker system dial-stdio` on the far side, as
 * the docker CLI does. doctor names the engine by DOCKER_HOST and by --engine; a login that
 * is refused gets one sentence and the ssh fix; `selftest dnat` passes over it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.js";
import { removeTree, scratch, sh } from "./helpers/engines.js";

const dir = scratch("ssh");
const PORT = 22820;
const HOST = `ssh://root@127.0.0.1:${PORT}`;
const home = join(dir, "home");
const state = { XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: join(dir, "cache"), HOME: home, SSH_AUTH_SOCK: "", LVS_LAB_LANG: "en" };
let sshd: ChildProcess;

async function engineCheck(env: Record<string, string>, args: string[] = []) {
  const r = await cli([...args, "doctor", "--json"], env, 180_000);
  const checks = (JSON.parse(r.stdout) as { checks: Array<{ name: string; state: string; message: string; fix?: string; engine?: { host: string; rule: string } }> }).checks;
  return checks.find((c) => c.name === "engine")!;
}

describe("an engine over ssh://", () => {
  beforeAll(async () => {
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(home, ".ssh/id_ed25519")]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(home, ".ssh/id_ed25519.pub")));
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${PORT}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(dir, "host_key")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "",
      ].join("\n"),
    );
    mkdirSync("/run/sshd", { recursive: true });
    const log = openSync(join(dir, "sshd.log"), "a");
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", log, log] });
    const end = Date.now() + 20_000;
    while (!readFileSync(join(dir, "sshd.log"), "utf8").includes("Server listening")) {
      if (Date.now() > end || sshd.exitCode !== null) throw new Error(`sshd did not start: ${readFileSync(join(dir, "sshd.log"), "utf8")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);

  afterAll(async () => {
    sshd?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    removeTree(dir);
  });

  it("doctor: DOCKER_HOST and --engine", async () => {
    const check = await engineCheck({ ...state, DOCKER_HOST: HOST });
    expect(check, JSON.stringify(check)).toMatchObject({ state: "ok", engine: { host: HOST, rule: "DOCKER_HOST" } });
    expect(check.message).toMatch(new RegExp(`^Docker \\S+ \\(API [\\d.]+\\) at ssh://root@127\\.0\\.0\\.1:${PORT}, found by DOCKER_HOST; kernel `));
    const option = await engineCheck(state, ["--engine", HOST]);
    expect(option).toMatchObject({ state: "ok", engine: { host: HOST, rule: "engine-option" } });
  }, 360_000);

  it("a refused login: one sentence and the ssh fix", async () => {
    const check = await engineCheck({ ...state, DOCKER_HOST: HOST, HOME: join(dir, "keyless") });
    expect(check).toMatchObject({
      state: "fail",
      message: `found by DOCKER_HOST: The Docker engine at ${HOST} is not reachable (the ssh login was refused).`,
      fix: `Check that \`ssh root@127.0.0.1 -p ${PORT} docker version\` works: lvs-lab logs in as ssh does (the ssh agent, else ~/.ssh/id_ed25519, id_ecdsa or id_rsa) and runs \`docker system dial-stdio\` there; or correct DOCKER_HOST.`,
    });
  }, 120_000);

  it("selftest dnat passes over it", async () => {
    const r = await cli(["selftest", "dnat", "--json"], { ...state, DOCKER_HOST: HOST }, 1_200_000);
    const report = JSON.parse(r.stdout) as { ok: boolean; engines: string[] };
    expect(report, r.stderr).toMatchObject({ ok: true, engines: [HOST] });
    expect(r.code).toBe(0);
  }, 1_300_000);
});
