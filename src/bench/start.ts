/**
 * Warm start (image present) until every node is ready: lvs-lab's paths against the
 * generated shell script and compose file, interleaved in a rotating order.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInstance } from "../docker/instance.js";
import { startLab } from "../lab/session.js";
import { discoverInterfaces, prepareServices } from "../lab/services.js";
import { composeFile, shellScript } from "./baselines.js";
import { allocatedPlan, cleanup, CLI, engine, fmtMs, log, mustSucceed, now, run, sleep, stats, summarizeCalls, topologyNodes, tracedEngine, waitReady, type Nodes } from "./common.js";
import type { Flags } from "./flags.js";
import type { BenchResults, StartMethod } from "./results.js";

/** The library path without startLab's lesson/kernel checks: what nat needs on a kernel without ip_vs. */
async function libraryStart(id: string, name: string, image: string): Promise<void> {
  const { resolved, plan } = await allocatedPlan(id, name, image);
  const containers = await createInstance(engine, plan, name);
  const ifaces = await discoverInterfaces(engine, resolved, containers);
  await prepareServices(engine, resolved, containers, ifaces, name);
}

/** One timed start: ms until waitReady passes (preparation excluded), and when the method returned. */
async function timedStart(method: StartMethod, id: string, name: string, image: string, nodes: Nodes, genDir: string, flags: Flags) {
  // A shared engine: another process may take the block chosen before the clock started.
  for (let attempt = 1; ; attempt++) {
    try {
      return await timedStartOnce(method, id, name, image, nodes, genDir, flags);
    } catch (e) {
      if (attempt >= 5 || !/overlaps/.test(String((e as Error).message))) throw e;
      log(`${name}: address block taken meanwhile, again`);
      await cleanup(name);
      await sleep(200 + Math.random() * 800);
    }
  }
}

async function timedStartOnce(method: StartMethod, id: string, name: string, image: string, nodes: Nodes, genDir: string, flags: Flags) {
  let launch: () => Promise<unknown>;
  if (method === "script" || method === "compose") {
    const { plan } = await allocatedPlan(id, name, image);
    const file = join(genDir, method === "script" ? `${name}.sh` : `${name}.compose.yml`);
    await writeFile(file, method === "script" ? shellScript(plan, id) : composeFile(plan, id));
    launch =
      method === "script"
        ? async () => mustSucceed(await run("sh", [file]), `the script for ${name}`)
        : async () => mustSucceed(await run("docker-compose", ["-p", name, "-f", file, "--no-ansi", "up", "-d"]), `docker-compose up for ${name}`);
  } else if (method === "cli" || method === "baselineCli") {
    const cli = method === "cli" ? CLI : flags.baselineCli!;
    launch = async () => mustSucceed(await run("node", [cli, "start", id, "--name", name, "--no-ui"]), `${cli} start ${id}`);
  } else if (method === "startLab") {
    launch = () => startLab(id, engine, { name });
  } else {
    launch = () => libraryStart(id, name, image);
  }
  const began = now();
  await launch();
  const returned = now() - began;
  await waitReady(name, nodes);
  return { ms: now() - began, returned };
}

export async function sectionStart(results: BenchResults, flags: Flags, image: string, genDir: string): Promise<void> {
  // Per-run copies of the generated baselines go to a scratch directory; one example of each stays in genDir.
  const runDir = await mkdtemp(join(tmpdir(), "lvs-lab-bench-"));
  const plans: Array<{ id: string; methods: StartMethod[] }> = [
    { id: "dnat", methods: ["cli", ...(flags.baselineCli ? (["baselineCli"] as const) : []), "startLab", "library", "script", "compose"] },
    { id: "nat", methods: ["library", "script", "compose"] },
  ];
  results.start = {};
  for (const { id, methods } of plans) {
    const nodes = await topologyNodes(id);
    const samples = Object.fromEntries(methods.map((m) => [m, [] as number[]]));
    const returned = Object.fromEntries(methods.map((m) => [m, [] as number[]]));
    // Warm-up: one of each, not counted (first docker-compose/python, page cache, …).
    for (const m of methods) {
      const name = `bench-w-${id}-${m.slice(0, 6).toLowerCase()}`;
      try {
        await timedStart(m, id, name, image, nodes, runDir, flags);
      } finally {
        await cleanup(name);
      }
    }
    for (let r = 0; r < flags.runs; r++) {
      // Interleaved, in a rotating order, so drift on the shared engine hits all alike.
      const order = methods.map((_, i) => methods[(i + r) % methods.length]!);
      for (const m of order) {
        const name = `bench-${id}-${m.slice(0, 6).toLowerCase()}-${r}`;
        try {
          const t = await timedStart(m, id, name, image, nodes, runDir, flags);
          samples[m]!.push(t.ms);
          returned[m]!.push(t.returned);
          log(`start ${id} ${m} run ${r + 1}/${flags.runs}: ${fmtMs(t.ms)}`);
        } finally {
          await cleanup(name);
          await sleep(300);
        }
      }
    }
    results.start[id] = Object.fromEntries(methods.map((m) => [m, { ...stats(samples[m]!), samples: samples[m]!.map(Math.round), returnedMedian: stats(returned[m]!).median }]));
  }
  // Keep one example of each generated baseline next to the results.
  for (const id of ["dnat", "nat"]) {
    const { plan } = await allocatedPlan(id, `bench-example-${id}`, image);
    await writeFile(join(genDir, `${id}.sh`), shellScript(plan, id));
    await writeFile(join(genDir, `${id}.compose.yml`), composeFile(plan, id));
  }
  await rm(runDir, { recursive: true, force: true });
  // One traced startLab: where the time of lvs-lab's own start goes, call by call.
  const t = tracedEngine();
  const name = "bench-trace";
  try {
    t.reset();
    const began = now();
    await startLab("dnat", t.engine, { name });
    results.startTrace = { totalMs: Math.round(now() - began), calls: [...t.calls], byCall: summarizeCalls(t.calls) };
  } finally {
    await cleanup(name);
  }
}
