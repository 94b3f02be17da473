/**
 * The vm section: lvs-lab in its QEMU VM (the LVS kernel), when that VM already runs.
 * The VM is shared and slow to boot: this section never boots or stops it, and touches
 * only its own instances there (bench-vm-…), never another bench's (bench-vmclass-…).
 *
 * `start dr --no-ui` and `stop` as processes (this kernel lacks ip_vs, so `start dr`
 * places the lab in the VM by itself); on the first instance, one command on the director
 * through Engine.exec (the command runner) and through a plain `docker exec`, interleaved,
 * and `check --step 1` of dr (solved first) as a process. QEMU's VmRSS is sampled every
 * second throughout. The selftest row is read from bench/results/selftest-vm.json.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Engine } from "../docker/engine.js";
import { labImageRef } from "../docker/image.js";
import { instanceContainers, listInstances } from "../docker/instance.js";
import { stopLab } from "../lab/session.js";
import { deleteProgress } from "../state/progress.js";
import { estimatesFor, measuredTimings } from "../vm/estimates.js";
import { vmStatus } from "../vm/index.js";
import { processMemoryMiB } from "../vm/qemu.js";
import { paths } from "../vm/run-state.js";
import { CLI, fmtMs, log, mustSucceed, now, root, run } from "./common.js";
import type { Flags } from "./flags.js";
import type { BenchResults, VmResults } from "./results.js";
import { parseSelftestRecord, startPhases } from "./vm-report.js";

const PREFIX = "bench-vm-";
const INSTANCE = `${PREFIX}dr`;
/** What a probe typically runs: a short command reading kernel state. */
const COMMAND = ["ip", "-o", "-4", "addr", "show"];
export const SELFTEST_RECORD = join(root, "bench", "results", "selftest-vm.json");

/** The VM's engine if it runs and answers (three tries: an emulated engine under load is slow), else why not. */
async function runningVm(): Promise<{ engine: Engine; pid: number; status: Awaited<ReturnType<typeof vmStatus>> } | { skipped: string }> {
  for (let i = 0; i < 3; i++) {
    const status = await vmStatus();
    if (!status.running || status.pid === undefined) return { skipped: "the lvs-lab VM is not running (the bench never boots it: `lvs-lab vm up` first)" };
    if (status.engine && status.dockerHost) return { engine: new Engine(status.dockerHost), pid: status.pid, status };
  }
  return { skipped: "the lvs-lab VM runs but its engine did not answer three pings" };
}

/** Removes this section's instances from the VM (bench-vm-… only). */
async function cleanupVm(engine: Engine): Promise<void> {
  const mine = (await listInstances(engine)).filter((i) => i.name.startsWith(PREFIX));
  for (const i of mine) {
    log(`removing bench instance ${i.name} from the VM`);
    await stopLab(engine, i.name);
    await deleteProgress(i.name).catch(() => undefined);
  }
}

async function readSelftestRecord() {
  const text = await readFile(SELFTEST_RECORD, "utf8").catch(() => undefined);
  return text === undefined ? undefined : parseSelftestRecord(text);
}

export async function sectionVm(results: BenchResults, flags: Flags): Promise<void> {
  const vm = await runningVm();
  if ("skipped" in vm) {
    results.vm = { skipped: vm.skipped, startMs: [], stopMs: [], runnerMs: [], dockerExecMs: [], execFailed: { runner: 0, dockerExec: 0 }, checkMs: [], checkInsideMs: [], checkFailed: 0, checkErrors: [], qemuRss: [] };
    log(`vm: skipped: ${vm.skipped}`);
    return;
  }
  const { engine, pid, status } = vm;
  const out: VmResults = (results.vm = {
    dockerHost: status.dockerHost,
    accel: status.accel,
    givenMiB: status.givenMiB,
    startPhases: {},
    bareContainerMs: [],
    vmPhases: status.accel ? estimatesFor(paths(), status.accel) : undefined,
    resumeSeconds: status.accel ? measuredTimings(paths(), status.accel).resume : undefined,
    startMs: [],
    stopMs: [],
    execCommand: COMMAND.join(" "),
    runnerMs: [],
    dockerExecMs: [],
    execFailed: { runner: 0, dockerExec: 0 },
    checkMs: [],
    checkInsideMs: [],
    checkFailed: 0,
    checkErrors: [],
    qemuRss: [],
    selftest: await readSelftestRecord(),
  });
  const began = now();
  const sample = () => {
    const m = processMemoryMiB(pid);
    if (m) out.qemuRss.push({ t: Math.round((now() - began) / 1000), mib: m.rss });
  };
  sample();
  const sampler = setInterval(sample, 1000);
  try {
    await cleanupVm(engine);
    out.otherInstances = (await listInstances(engine)).length;
    for (let r = 0; r < flags.runs; r++) {
      // A VM that stopped meanwhile would be booted again by `start`: the bench never does that.
      if (!(await vmStatus()).running) throw new Error("the lvs-lab VM stopped during the section");
      // A fresh lab each run: `start` would replay the steps an earlier run solved.
      await deleteProgress(INSTANCE).catch(() => undefined);
      const started = mustSucceed(await run("node", [CLI, "start", "dr", "--name", INSTANCE, "--no-ui"]), `lvs-lab start dr (run ${r + 1})`);
      out.startMs.push(Math.round(started.ms));
      for (const [phase, seconds] of Object.entries(startPhases(started.stderr))) (out.startPhases![phase] ??= []).push(seconds);
      const containers = await instanceContainers(engine, INSTANCE);
      if (!containers.director) {
        await run("node", [CLI, "stop", "--name", INSTANCE]);
        throw new Error(`start dr did not place ${INSTANCE} in the VM (this kernel has ip_vs?)`);
      }
      log(`vm: start dr ${fmtMs(started.ms)}`);
      out.bareContainerMs!.push(await bareContainer(status.dockerHost!));
      if (r === 0) {
        await commandOnNode(out, engine, containers.director.id, status.dockerHost!, flags.samples);
        await checkStep1(out, flags.samples);
      }
      out.stopMs.push(Math.round(mustSucceed(await run("node", [CLI, "stop", "--name", INSTANCE]), `lvs-lab stop ${INSTANCE}`).ms));
      log(`vm: stop ${fmtMs(out.stopMs.at(-1))}`);
    }
  } finally {
    clearInterval(sampler);
    sample();
    out.qemuLifetimePeakMiB = processMemoryMiB(pid)?.peak;
    await cleanupVm(engine);
  }
}

/**
 * What creating one container costs the VM's engine without lvs-lab: the lab image, no
 * network, `true` instead of its entrypoint, created, started, waited for and removed by
 * the docker CLI.
 */
async function bareContainer(dockerHost: string): Promise<number> {
  const r = mustSucceed(await run("docker", ["run", "--rm", "--network", "none", "--entrypoint", "true", labImageRef()], { DOCKER_HOST: dockerHost }), "docker run of a bare container in the VM");
  log(`vm: one bare container ${fmtMs(r.ms)}`);
  return Math.round(r.ms);
}

/** The same command on the director through the runner and through `docker exec`, interleaved. */
async function commandOnNode(out: VmResults, engine: Engine, container: string, dockerHost: string, samples: number): Promise<void> {
  const viaRunner = async () => {
    const t = now();
    const r = await engine.exec(container, COMMAND, { timeoutMs: 30_000 });
    return { ms: now() - t, ok: r.exitCode === 0 };
  };
  const viaDocker = async () => {
    const r = await run("docker", ["exec", container, ...COMMAND], { DOCKER_HOST: dockerHost });
    return { ms: r.ms, ok: r.code === 0 };
  };
  out.runnerFirstMs = (await viaRunner()).ms;
  await viaDocker(); // warm-up: the docker CLI's first run reads its config
  for (let i = 0; i < samples; i++) {
    const pair = i % 2 ? ([["dockerExec", viaDocker], ["runner", viaRunner]] as const) : ([["runner", viaRunner], ["dockerExec", viaDocker]] as const);
    for (const [which, fn] of pair) {
      const { ms, ok } = await fn();
      (which === "runner" ? out.runnerMs : out.dockerExecMs).push(Math.round(ms));
      if (!ok) out.execFailed[which]++;
    }
  }
  log(`vm: one command, runner first ${fmtMs(out.runnerFirstMs)}, then ${out.runnerMs.join(" ")} ms; docker exec ${out.dockerExecMs.join(" ")} ms`);
}

/** dr step 1 solved, then checked by `check --json` processes (a passing check, as in the check section). */
async function checkStep1(out: VmResults, samples: number): Promise<void> {
  mustSucceed(await run("node", [CLI, "solve", "--name", INSTANCE, "--step", "1"]), `lvs-lab solve ${INSTANCE} --step 1`);
  for (let i = 0; i < samples; i++) {
    const r = await run("node", [CLI, "check", "--name", INSTANCE, "--step", "1", "--json"]);
    let report: { seconds: number; passed: boolean };
    try {
      report = JSON.parse(r.stdout) as typeof report;
    } catch {
      // No report, no check: a process that died is not timed as one.
      out.checkErrors.push(`exit ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(0, 3).join(" / ").slice(0, 300)}`);
      continue;
    }
    out.checkMs.push(Math.round(r.ms));
    out.checkInsideMs.push(Math.round(report.seconds * 1000));
    if (!report.passed) out.checkFailed++;
  }
  log(`vm: check step 1 ${out.checkMs.join(" ")} ms${out.checkErrors.length ? `; ${out.checkErrors.length} without a report: ${out.checkErrors[0]}` : ""}`);
}
