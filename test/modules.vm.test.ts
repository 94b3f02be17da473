/**
 * Kernel modules that are only missing, on a real kernel: lvs-lab's VM booted with
 * LVS_LAB_VM_PRELOAD=0 (Debian 12's stock kernel, ip_vs and ipip modules nobody loaded, no
 * kernel label: a stand-in for Docker Desktop's VM) is the learner's own engine
 * (DOCKER_HOST). There:
 *   - doctor and the kernel check tell "in this kernel, not loaded", and load nothing;
 *   - `start nat` without a terminal and without --yes: exit 2 and the command to run;
 *   - `start nat` in a tmux pane asks once; no → nothing loaded, exit 2;
 *   - `start nat --yes` loads ip_vs and the schedulers, the lab starts on that engine;
 *   - `doctor --fix` loads ipip, the one still only missing;
 *   - nat, solved there, passes every check.
 * What is loaded is read with the docker CLI (/proc/modules), apart from lvs-lab.
 * The VM runs in a cache of its own (hard links to the built kernel, root disk and data
 * disks of the cache this test was started with) and is stopped at the end; the lvs-lab
 * VM others use is never touched. Runs with LVS_LAB_VM_TESTS=1 or LVS_LAB_REQUIRE_IPVS=1
 * once that cache holds a build of the current recipe.
 */
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labImageRef } from "../src/docker/image.js";
import { loadCommand, modulesFor } from "../src/lab/modules.js";
import { BUILT_FILES, cacheRoot, currentRecipeHash, shareBuild } from "../src/vm/recipe.js";
import { BIN, cli } from "./helpers/cli.js";

const requested = process.env.LVS_LAB_VM_TESTS === "1" || process.env.LVS_LAB_REQUIRE_IPVS === "1";
const builtDir = join(cacheRoot(), currentRecipeHash());
const built = BUILT_FILES.every((name) => existsSync(join(builtDir, name)));
const IMAGE = labImageRef();
const NAT_MODULES = modulesFor(["ip_vs"]);
const SESSION = `lvs-modules-${process.pid}`;

/** This file's own cache and state (made in beforeAll), the VM without preloaded modules, English. */
let base = "";
let env: Record<string, string> = {};
let dockerHost = "";
let kernel = "";

/** The VM kernel's loaded modules among ip_vs*, ipip, read by the docker CLI, not by lvs-lab. */
async function loaded(): Promise<string[]> {
  const r = await execa("docker", ["run", "--rm", "--network", "none", "--entrypoint", "cat", IMAGE, "/proc/modules"], { env: { DOCKER_HOST: dockerHost }, timeout: 300_000 });
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((m) => /^(ip_vs|ipip)/.test(m))
    .sort();
}

const onVm = () => ({ ...env, DOCKER_HOST: dockerHost });
// A tmux server of its own: other tests' tmux sessions come and go on the default one.
const tmux = (...args: string[]) => execFileSync("tmux", ["-L", SESSION, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-J", "-t", SESSION);

async function screenShows(text: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const s = screen();
    if (s.replace(/\n/g, "").includes(text)) return s;
    if (Date.now() > until) throw new Error(`the pane never showed "${text}"; it shows:\n${s}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

describe.skipIf(!requested || !built)("modules only missing: the VM without preloaded modules as the learner's engine", () => {
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "lvs-lab-modules-"));
    env = {
      XDG_CACHE_HOME: join(base, "cache"),
      XDG_STATE_HOME: join(base, "state"),
      LVS_LAB_VM_PRELOAD: "0",
      LVS_LAB_VM_IDLE_MINUTES: "0",
      LVS_LAB_LANG: "en",
    };
    shareBuild(env.XDG_CACHE_HOME!);
    const up = await cli(["vm", "up"], env, 1_200_000);
    expect(up.code, up.stderr).toBe(0);
    dockerHost = (JSON.parse((await cli(["vm", "status", "--json"], env)).stdout) as { dockerHost: string }).dockerHost;
    expect(dockerHost).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    kernel = (await execa("docker", ["info", "--format", "{{.KernelVersion}}"], { env: { DOCKER_HOST: dockerHost } })).stdout.trim();
  }, 1_300_000);

  afterAll(async () => {
    try {
      tmux("kill-server");
    } catch {
      /* never started, or gone */
    }
    if (dockerHost) await cli(["stop", "--name", "modyes"], onVm(), 600_000);
    if (base) {
      await cli(["vm", "down"], env, 120_000);
      rmSync(base, { recursive: true, force: true });
    }
  }, 900_000);

  it("booted without them: the kernel has ip_vs and ipip as modules, none loaded, and the engine states no kernel report", async () => {
    expect(await loaded()).toEqual([]);
    const labels = (await execa("docker", ["info", "--format", "{{json .Labels}}"], { env: { DOCKER_HOST: dockerHost } })).stdout;
    expect(labels).not.toContain("io.lvs-lab.kernel");
  }, 600_000);

  it("doctor: in this kernel, not loaded, and how to load them; its checks load nothing", async () => {
    const r = await cli(["doctor", "--json"], onVm(), 900_000);
    const checks = (JSON.parse(r.stdout) as { checks: Array<{ name: string; state: string; message: string; fix?: string }> }).checks;
    expect(checks.find((c) => c.name === "ip_vs")).toEqual({
      name: "ip_vs",
      state: "warn",
      message: `the kernel ${kernel} has IPVS (ip_vs) as a module, not loaded`,
      fix: `\`lvs-lab doctor --fix\` loads it (${loadCommand(IMAGE, NAT_MODULES)})`,
    });
    expect(checks.find((c) => c.name === "ipip")).toEqual({
      name: "ipip",
      state: "warn",
      message: `the kernel ${kernel} has ipip as a module, not loaded`,
      fix: `\`lvs-lab doctor --fix\` loads it (${loadCommand(IMAGE, ["ipip"])})`,
    });
    expect(await loaded()).toEqual([]);
  }, 1_200_000);

  it("start nat without a terminal and without --yes: exit 2, the command to run, nothing loaded", async () => {
    const r = await cli(["start", "nat", "--no-ui", "--name", "modrefused"], onVm(), 900_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `lvs-lab: Lab nat needs ip_vs, which the kernel running Docker (${kernel}) has as a module but has not loaded; lvs-lab loads kernel modules only when asked to.\n` +
        `  Load them with \`lvs-lab start nat --yes\` (or \`lvs-lab doctor --fix\`), or by hand: \`${loadCommand(IMAGE, NAT_MODULES)}\``,
    );
    expect(await loaded()).toEqual([]);
  }, 1_200_000);

  it("start nat at a terminal asks once; no: nothing loaded, exit 2", async () => {
    const vars = Object.entries(onVm())
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", `env ${vars} NO_COLOR=1 node ${BIN} start nat --no-ui --name modasked; echo EXIT=$?; sleep 600`);
    await screenShows(
      `lvs-lab: Lab nat needs ip_vs, which the kernel running Docker (${kernel}) has as a module but has not loaded. Load ${NAT_MODULES.join(" ")} into that kernel now, from a one-shot container with CAP_SYS_MODULE and /lib/modules read-only? [Y/n]`,
      900_000,
    );
    tmux("send-keys", "-t", SESSION, "n", "Enter");
    const s = await screenShows("EXIT=", 120_000);
    expect(s.replace(/\n/g, "")).toContain("lvs-lab: Nothing was loaded, so lab nat cannot run on this engine.");
    expect(s).toContain("EXIT=2");
    expect(s.match(/\[Y\/n\]/g)).toHaveLength(1);
    expect(await loaded()).toEqual([]);
  }, 1_200_000);

  it("start nat --yes loads ip_vs and its schedulers and starts the lab on that engine", async () => {
    const r = await cli(["start", "nat", "--yes", "--no-ui", "--name", "modyes"], onVm(), 1_200_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`loading ${NAT_MODULES.join(" ")} into the kernel running Docker (${kernel})…`);
    expect(r.stderr).toContain(`loaded ${NAT_MODULES.join(" ")}`);
    expect(r.stdout).toContain(`engine ${dockerHost}`);
    expect(await loaded()).toEqual(expect.arrayContaining(NAT_MODULES));
    expect(await loaded()).not.toContain("ipip");
    const stopped = await cli(["stop", "--name", "modyes"], onVm(), 600_000);
    expect(stopped.code, stopped.stderr).toBe(0);
  }, 1_500_000);

  it("doctor --fix loads what is still only missing: ipip, which nat did not need", async () => {
    const r = await cli(["doctor", "--fix", "--json"], onVm(), 1_200_000);
    const checks = (JSON.parse(r.stdout) as { checks: Array<{ name: string; state: string; message: string }> }).checks;
    expect(r.stderr).toContain(`loading ipip into the kernel running Docker (${kernel})…`);
    expect(checks.find((c) => c.name === "ipip")).toEqual({ name: "ipip", state: "ok", message: "IP-in-IP (ipip, tunl0) available" });
    expect(checks.find((c) => c.name === "ip_vs")?.state).toBe("ok");
    expect(await loaded()).toContain("ipip");
  }, 1_200_000);

  it("nat solved on that engine passes every check: IPVS forwards with the modules loaded on demand", async () => {
    // The whole lab's proof (selftest) runs in lvs.vm.test.ts; here the kernel whose modules
    // lvs-lab loaded has only to carry the lab's traffic.
    const started = await cli(["start", "nat", "--no-ui", "--name", "modyes"], onVm(), 1_200_000);
    expect(started.code, started.stderr).toBe(0);
    const solved = await cli(["solve", "--all", "--name", "modyes"], onVm(), 1_200_000);
    expect(solved.code, solved.stderr).toBe(0);
    // The last step with traffic (lc): its check sends the client's requests through IPVS to both real servers.
    const r = await cli(["check", "--all", "--json", "--name", "modyes"], onVm(), 1_200_000);
    const report = JSON.parse(r.stdout) as { steps: Array<{ id: string; passed: boolean }> };
    expect(report.steps.find((s) => s.id === "lc"), r.stdout).toMatchObject({ passed: true });
  }, 3_700_000);
});
