#!/usr/bin/env node
/**
 * `npm run bench`: how fast and frugal lvs-lab is on the host engine, against what a
 * teacher would otherwise use. Plain ESM importing the compiled code from dist/ (run
 * `npx tsc -p .` first; `npm run bench` does). See bench/README.md for what is measured.
 *
 * Every Docker resource it creates belongs to an instance whose name starts with
 * "bench-"; only those are ever removed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { stringify as toYaml } from "yaml";

import { Engine, resolveDockerHost } from "../dist/docker/engine.js";
import { ensureLabImage } from "../dist/docker/image.js";
import { createInstance, instanceContainers, listInstances, removeInstance } from "../dist/docker/instance.js";
import { discoverInterfaces, prepareServices } from "../dist/lab/services.js";
import { LABEL } from "../dist/docker/labels.js";
import { hostRoutes } from "../dist/lab/host.js";
import { checkStep, openLab, probeContext, solveStep, startLab, stopLab } from "../dist/lab/session.js";
import { checkBlockSchema } from "../dist/probes/registry.js";
import { runProbes } from "../dist/probes/run.js";
import { deleteProgress } from "../dist/state/progress.js";
import { allocateSubnets } from "../dist/topology/allocate.js";
import { loadTopology } from "../dist/topology/load.js";
import { planInstance } from "../dist/lab/plan.js";
import { resolveTopology } from "../dist/topology/resolve.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const CLI = join(root, "bin", "lvs-lab.js");

// --- flags ------------------------------------------------------------------------------

const USAGE = `usage: node bench/run.js [--quick] [--runs N] [--samples N] [--ui-seconds N]
                        [--only start,check,stop,scale,ui] [--scale 1,2,4,8] [--out DIR]
  --quick        fewer runs (3 starts per method, 8 check samples, 1 scale round, 30 s UI)
  --runs N       warm-start runs per method (default 7)
  --samples N    check-latency samples (default 20)
  --ui-seconds N idle TUI sampling window (default 120)
  --ui-env K=V   environment for the TUI process (repeatable), e.g. NODE_ENV=production
  --only LIST    run only these sections
  --out DIR      where latest.md / latest.json go (default bench/results)`;

function parseFlags(argv) {
  const f = { uiEnv: [], quick: false, runs: 7, samples: 20, uiSeconds: 120, stopRuns: 5, parallelStopRuns: 3, scaleRounds: 2, scale: [1, 2, 4, 8], only: null, out: join(here, "results") };
  const set = new Set();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const num = () => {
      const n = Number(val());
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number`);
      return n;
    };
    if (a === "--quick") f.quick = true;
    else if (a === "--runs") (f.runs = num()), set.add("runs");
    else if (a === "--samples") (f.samples = num()), set.add("samples");
    else if (a === "--ui-seconds") (f.uiSeconds = num()), set.add("uiSeconds");
    else if (a === "--ui-env") f.uiEnv.push(val());
    else if (a === "--only") f.only = new Set(val().split(","));
    else if (a === "--scale") (f.scale = val().split(",").map(Number)), set.add("scale");
    else if (a === "--out") f.out = val();
    else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown flag ${a}\n${USAGE}`);
  }
  if (f.quick) {
    if (!set.has("runs")) f.runs = 3;
    if (!set.has("samples")) f.samples = 8;
    if (!set.has("uiSeconds")) f.uiSeconds = 30;
    f.stopRuns = 3;
    f.parallelStopRuns = 1;
    f.scaleRounds = 1;
  }
  return f;
}

const flags = parseFlags(process.argv.slice(2));
const want = (section) => !flags.only || flags.only.has(section);

// --- helpers ----------------------------------------------------------------------------

const engine = new Engine(resolveDockerHost());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const log = (...a) => process.stderr.write(`[bench] ${a.join(" ")}\n`);

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return { n: 0 };
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, min: s[0], max: s[s.length - 1], p95: q(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Runs a process to completion; resolves with its exit code, output and wall time (ms). */
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const began = now();
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...(opts.env ?? {}) } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: stderr + String(e), ms: now() - began }));
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: now() - began }));
  });
}

function mustSucceed(r, what) {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-600)}`);
  return r;
}

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const fmtMs = (ms) => (ms === undefined ? "–" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

/** Removes one of the bench's own instances (lvs-lab, script or compose: all carry the same labels). */
async function cleanup(name) {
  if (!name.startsWith("bench-")) throw new Error(`refusing to remove ${name}: not a bench instance`);
  await stopLab(engine, name).catch(() => removeInstance(engine, name));
  await deleteProgress(name).catch(() => undefined);
}

/** Leftovers of an earlier, interrupted bench run (bench-* only). */
async function cleanupAllBench() {
  const mine = (await listInstances(engine)).filter((i) => i.name.startsWith("bench-"));
  for (const i of mine) log(`removing leftover bench instance ${i.name}`);
  await Promise.all(mine.map((i) => cleanup(i.name)));
  await run("tmux", ["kill-session", "-t", "bench-ui"]);
}

/** The topology's nodes (names, real servers' ports): independent of the subnets. */
async function topologyShape(id) {
  const topo = await loadTopology(id);
  return { topo, nodes: resolveTopology(topo, {}).nodes };
}

/** The same subnet choice `startLab` makes: every engine network and host route avoided. */
async function allocatedPlan(id, instance, image) {
  const topo = await loadTopology(id);
  const used = [...(await engine.usedSubnets()), ...(engine.isLocal() ? await hostRoutes() : [])];
  const resolved = resolveTopology(topo, allocateSubnets(topo, used));
  return { topo, resolved, plan: planInstance(resolved, instance, image) };
}

/**
 * "Ready", the same for every method: every node's container exists and is running,
 * and every real server's responder listens on all its ports (`ss -Hltn` in the
 * container, as lvs-lab's own start checks). Polled every 25 ms by this process.
 */
async function waitReady(instance, nodes, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  const servers = Object.values(nodes).filter((n) => n.serve.length);
  for (;;) {
    const list = await engine.listContainers(instance);
    const byNode = new Map(list.map((c) => [c.labels[LABEL.node], c]));
    if (Object.keys(nodes).every((n) => byNode.get(n)?.state === "running")) {
      const listening = await Promise.all(
        servers.map(async (n) => {
          const r = await engine.exec(byNode.get(n.name).id, ["ss", "-Hltn"], { timeoutMs: 5000 });
          const ports = new Set([...r.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])));
          return n.serve.every((p) => ports.has(p));
        }),
      );
      if (listening.every(Boolean)) return;
    }
    if (Date.now() > deadline) throw new Error(`${instance} did not become ready within ${timeoutMs / 1000} s`);
    await sleep(25);
  }
}

// --- baselines generated from the topology file ------------------------------------------

/**
 * The practical lower bound: one POSIX shell script, docker CLI only, networks in
 * parallel, then every container (create, connect extra networks, start) in parallel.
 * Same image, names, labels, env, capabilities, sysctls, addresses as planInstance.
 * ReadonlyPaths cannot be set from the docker CLI: its default masking (all of /proc/sys
 * read-only) is the closest equivalent and costs the same bind mounts.
 */
function shellScript(plan, topoId) {
  const L = [
    "#!/bin/sh",
    `# Generated by bench/run.js from topologies/${topoId}.yaml (via planInstance). Do not edit.`,
    "set -u",
    "fail=0",
    "pids=",
  ];
  for (const n of plan.networks) {
    const args = ["docker network create --driver bridge", `--subnet ${q(n.subnet)}`, `--gateway ${q(n.gateway)}`];
    for (const [k, v] of Object.entries(n.reserved)) args.push(`--aux-address ${q(`${k}=${v}`)}`);
    args.push(`--opt com.docker.network.bridge.enable_ip_masquerade=false`);
    if (n.mtu) args.push(`--opt com.docker.network.driver.mtu=${n.mtu}`);
    for (const [k, v] of Object.entries(n.labels)) args.push(`--label ${q(`${k}=${v}`)}`);
    L.push(`${args.join(" ")} ${q(n.name)} >/dev/null & pids="$pids $!"`);
  }
  L.push('for p in $pids; do wait "$p" || fail=1; done', '[ "$fail" = 0 ] || exit 1', "pids=");
  for (const c of plan.containers) {
    const [first, ...rest] = c.addresses;
    const args = ["docker create", `--name ${q(c.name)}`, `--hostname ${q(c.hostname)}`];
    for (const [k, v] of Object.entries(c.labels)) args.push(`--label ${q(`${k}=${v}`)}`);
    for (const [k, v] of Object.entries(c.env)) args.push(`--env ${q(`${k}=${v}`)}`);
    args.push("--cap-drop ALL", ...c.capAdd.map((cap) => `--cap-add ${cap}`));
    for (const [k, v] of Object.entries(c.sysctls)) args.push(`--sysctl ${q(`${k}=${v}`)}`);
    args.push("--security-opt no-new-privileges");
    if (first) args.push(`--network ${q(first.network)}`, `--ip ${q(first.ip)}`);
    args.push(q(c.image));
    const chain = [`${args.join(" ")} >/dev/null`];
    for (const extra of rest) chain.push(`docker network connect --ip ${q(extra.ip)} ${q(extra.network)} ${q(c.name)}`);
    chain.push(`docker start ${q(c.name)} >/dev/null`);
    L.push(`( ${chain.join(" && ")} ) & pids="$pids $!"`);
  }
  L.push('for p in $pids; do wait "$p" || fail=1; done', 'exit "$fail"', "");
  return L.join("\n");
}

/**
 * What a teacher would write for docker-compose v1 (file format 2.4, which has ipam
 * gateway/aux_addresses, sysctls, init). Same resources as the script; the same
 * ReadonlyPaths caveat applies (compose cannot set them either).
 */
function composeFile(plan, topoId) {
  const doc = { version: "2.4", networks: {}, services: {} };
  const keyOf = new Map(plan.networks.map((n) => [n.name, n.key]));
  for (const n of plan.networks) {
    const driverOpts = { "com.docker.network.bridge.enable_ip_masquerade": "false" };
    if (n.mtu) driverOpts["com.docker.network.driver.mtu"] = String(n.mtu);
    const cfg = { subnet: n.subnet, gateway: n.gateway };
    if (Object.keys(n.reserved).length) cfg.aux_addresses = n.reserved;
    doc.networks[n.key] = { name: n.name, driver: "bridge", driver_opts: driverOpts, labels: n.labels, ipam: { driver: "default", config: [cfg] } };
  }
  for (const c of plan.containers) {
    const svc = {
      image: c.image,
      container_name: c.name,
      hostname: c.hostname,
      labels: c.labels,
      environment: c.env,
      cap_drop: ["ALL"],
      cap_add: c.capAdd,
      security_opt: ["no-new-privileges"],
      init: false,
      networks: Object.fromEntries(c.addresses.map((a) => [keyOf.get(a.network), { ipv4_address: a.ip }])),
    };
    if (Object.keys(c.sysctls).length) svc.sysctls = c.sysctls;
    doc.services[c.node] = svc;
  }
  return `# Generated by bench/run.js from topologies/${topoId}.yaml (via planInstance). Do not edit.\n${toYaml(doc)}`;
}

// --- lvs-lab start paths -------------------------------------------------------------------

/** The library path without startLab's lesson/kernel checks: what nat needs on this kernel. */
async function libraryStart(id, name, image) {
  const { resolved, plan } = await allocatedPlan(id, name, image);
  const containers = await createInstance(engine, plan, name);
  const ifaces = await discoverInterfaces(engine, resolved, containers);
  await prepareServices(engine, resolved, containers, ifaces, name);
}

const METHODS = {
  cli: { label: "lvs-lab CLI", how: "`node bin/lvs-lab.js start <lab> --name X --no-ui` (process, node start-up included)" },
  startLab: { label: "lvs-lab startLab()", how: "in-process `startLab` (src/lab/session.ts): leftovers scan, image and kernel checks, allocation, create, services" },
  library: { label: "lvs-lab library", how: "in-process allocateSubnets+resolveTopology+planInstance → createInstance → discoverInterfaces → prepareServices" },
  script: { label: "(a) shell script", how: "generated `sh` script, docker CLI, networks ∥ then containers ∥" },
  compose: { label: "(b) docker-compose", how: "generated compose file (v2.4), `docker-compose up -d` (v1, Python)" },
};

/** One timed start of `id` by `method`: ms until waitReady passes (preparation excluded). */
async function timedStart(method, id, name, image, shape, genDir) {
  let launch;
  if (method === "script" || method === "compose") {
    const { plan } = await allocatedPlan(id, name, image);
    const file = join(genDir, method === "script" ? `${name}.sh` : `${name}.compose.yml`);
    await writeFile(file, method === "script" ? shellScript(plan, id) : composeFile(plan, id));
    launch =
      method === "script"
        ? async () => mustSucceed(await run("sh", [file]), `the script for ${name}`)
        : async () => mustSucceed(await run("docker-compose", ["-p", name, "-f", file, "--no-ansi", "up", "-d"]), `docker-compose up for ${name}`);
  } else if (method === "cli") {
    launch = async () => mustSucceed(await run("node", [CLI, "start", id, "--name", name, "--no-ui"]), `lvs-lab start ${id}`);
  } else if (method === "startLab") {
    launch = () => startLab(id, engine, { name });
  } else {
    launch = () => libraryStart(id, name, image);
  }
  const began = now();
  await launch();
  const returned = now() - began;
  await waitReady(name, shape.nodes);
  return { ms: now() - began, returned };
}

// --- engine call tracing (for the "why") --------------------------------------------------

const TRACED = ["info", "imageExists", "listContainers", "listNetworks", "usedSubnets", "createNetwork", "createContainer", "startContainer", "removeContainer", "removeNetwork", "exec", "runOnce"];

/** A second Engine whose calls are timed; returns it and the call log. */
function tracedEngine() {
  const e = new Engine(resolveDockerHost());
  const calls = [];
  const t0 = { v: now() };
  for (const m of TRACED) {
    const orig = e[m].bind(e);
    e[m] = async (...args) => {
      const start = now();
      try {
        return await orig(...args);
      } finally {
        const what = m === "exec" ? (Array.isArray(args[1]) ? args[1].slice(0, 2).join(" ").slice(0, 40) : "") : typeof args[0] === "string" ? args[0].slice(0, 30) : (args[0]?.name ?? "");
        calls.push({ call: m, what, startMs: Math.round(start - t0.v), ms: Math.round(now() - start) });
      }
    };
  }
  return { engine: e, calls, reset: () => ((t0.v = now()), (calls.length = 0)) };
}

function summarizeCalls(calls) {
  const by = {};
  for (const c of calls) {
    const s = (by[c.call] ??= { count: 0, totalMs: 0, maxMs: 0 });
    s.count++;
    s.totalMs += c.ms;
    s.maxMs = Math.max(s.maxMs, c.ms);
  }
  return by;
}

// --- sections ----------------------------------------------------------------------------

async function sectionStart(results, image, genDir) {
  // Per-run copies of the generated baselines go to a scratch directory; one example of each stays in genDir.
  const runDir = await mkdtemp(join(tmpdir(), "lvs-lab-bench-"));
  const plans = [
    { id: "dnat", methods: ["cli", "startLab", "library", "script", "compose"] },
    { id: "nat", methods: ["library", "script", "compose"] },
  ];
  results.start = {};
  for (const { id, methods } of plans) {
    const shape = await topologyShape(id);
    const samples = Object.fromEntries(methods.map((m) => [m, []]));
    const returned = Object.fromEntries(methods.map((m) => [m, []]));
    // Warm-up: one of each, not counted (first docker-compose/python, page cache, …).
    for (const m of methods) {
      const name = `bench-w-${id}-${m.slice(0, 6).toLowerCase()}`;
      try {
        await timedStart(m, id, name, image, shape, runDir);
      } finally {
        await cleanup(name);
      }
    }
    for (let r = 0; r < flags.runs; r++) {
      // Interleaved, in a rotating order, so drift on the shared engine hits all alike.
      const order = methods.map((_, i) => methods[(i + r) % methods.length]);
      for (const m of order) {
        const name = `bench-${id}-${m.slice(0, 6).toLowerCase()}-${r}`;
        try {
          const t = await timedStart(m, id, name, image, shape, runDir);
          samples[m].push(t.ms);
          returned[m].push(t.returned);
          log(`start ${id} ${m} run ${r + 1}/${flags.runs}: ${fmtMs(t.ms)}`);
        } finally {
          await cleanup(name);
          await sleep(300);
        }
      }
    }
    results.start[id] = Object.fromEntries(methods.map((m) => [m, { ...stats(samples[m]), samples: samples[m].map(Math.round), returnedMedian: stats(returned[m]).median }]));
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

async function dnatCheckProbes() {
  // Five probes on three nodes (director, rs1, client), all passing once dnat is solved,
  // none with sleeps or long timeouts (no reply-path capture).
  return checkBlockSchema.parse([
    { kind: "sysctl", node: "director", key: "net.ipv4.ip_forward", value: 1 },
    { kind: "iptables", node: "director", table: "nat", chain: "PREROUTING", rule: { in: "{{director.ext.iface}}", protocol: "tcp", dport: 8001, target: "DNAT", to: "{{rs1.int}}:8000" } },
    { kind: "route", node: "rs1", to: "default", via: "{{director.int}}" },
    { kind: "address", node: "rs1", address: "{{rs1.int}}" },
    { kind: "http", node: "client", to: "{{director.ext}}:8001", count: 4, expect: { answers: "all", servers: ["rs1"], clientAddress: "{{client.ext}}" } },
  ]);
}

async function sectionCheck(results) {
  const name = "bench-check";
  const out = (results.check = {});
  try {
    const s0 = await startLab("dnat", engine, { name });
    for (let i = 0; i < s0.lab.lesson.steps.length; i++) await solveStep(s0, i);
    const s = await openLab({ name, engine, containers: await instanceContainers(engine, name) });
    const probes = await dnatCheckProbes();
    const exec = (node, script) => s.engine.exec(s.containers[node], ["sh", "-c", script], { timeoutMs: 30_000, what: `the probes on ${node}` });
    const step3 = s.lab.lesson.steps[2];
    const series = {
      five: { label: "5 probes on 3 nodes (in-memory list, runProbes)", samples: [], failed: 0, fn: () => runProbes(probes, probeContext(s), exec) },
      step3: { label: `dnat step 3 as written (${step3.checks.length} probes; http with reply-path capture)`, samples: [], failed: 0, fn: () => checkStep(s, 2) },
      openFive: { label: "openLab + 5 probes (a fresh session per check, as one CLI run does)", samples: [], failed: 0, fn: async () => { const s2 = await openLab({ name, engine, containers: await instanceContainers(engine, name) }); return runProbes(probes, probeContext(s2), exec); } },
    };
    for (const k of Object.keys(series)) for (let i = 0; i < 2; i++) await series[k].fn(); // warm-up
    for (let i = 0; i < flags.samples; i++) {
      for (const k of Object.keys(series)) {
        const began = now();
        const res = await series[k].fn();
        series[k].samples.push(now() - began);
        if (!res.every((r) => r.ok)) series[k].failed++;
      }
    }
    for (const [k, v] of Object.entries(series)) out[k] = { label: v.label, failed: v.failed, ...stats(v.samples), samples: v.samples.map(Math.round) };
    log(`in-process check: 5 probes median ${fmtMs(out.five.median)} p95 ${fmtMs(out.five.p95)}`);

    // Where one in-process check's time goes (engine calls of one 5-probe run).
    const t = tracedEngine();
    const ts = { ...s, engine: t.engine };
    const texec = (node, script) => t.engine.exec(ts.containers[node], ["sh", "-c", script], { timeoutMs: 30_000 });
    await runProbes(probes, probeContext(ts), texec);
    t.reset();
    const began = now();
    await runProbes(probes, probeContext(ts), texec);
    out.fiveTrace = { totalMs: Math.round(now() - began), calls: [...t.calls] };

    // Whole CLI processes: node start-up + imports + openLab + check + progress file.
    const cli = { samples: [], inside: [], failed: 0 };
    const floor = [];
    for (let i = 0; i < flags.samples; i++) {
      const r = await run("node", [CLI, "check", "--name", name, "--step", "3", "--json"]);
      cli.samples.push(r.ms);
      try {
        const rep = JSON.parse(r.stdout);
        cli.inside.push(rep.seconds * 1000);
        if (!rep.passed) cli.failed++;
      } catch {
        cli.failed++;
      }
      if (i < 5) floor.push((await run("node", [CLI, "--version"])).ms);
    }
    out.cli = { label: "`node bin/lvs-lab.js check --step 3 --json` (whole process)", failed: cli.failed, ...stats(cli.samples), samples: cli.samples.map(Math.round), checkInsideMedian: stats(cli.inside).median };
    out.cliFloor = { label: "`node bin/lvs-lab.js --version` (node + imports only)", ...stats(floor) };
    out.nodeFloor = { label: "`node -e 0`", ...stats(await Promise.all([0, 1, 2].map(async () => (await run("node", ["-e", "0"])).ms))) };
    log(`CLI check: median ${fmtMs(out.cli.median)} p95 ${fmtMs(out.cli.p95)}; --version ${fmtMs(out.cliFloor.median)}`);
  } finally {
    await cleanup(name);
  }
}

async function sectionStop(results, image) {
  const out = (results.stop = { single: { cli: [], inProcess: [] }, parallel: [] });
  for (let r = 0; r < flags.stopRuns; r++) {
    for (const mode of r % 2 ? ["inProcess", "cli"] : ["cli", "inProcess"]) {
      const name = `bench-stop-${mode === "cli" ? "c" : "p"}${r}`;
      await startLab("dnat", engine, { name });
      await sleep(300);
      const began = now();
      if (mode === "cli") mustSucceed(await run("node", [CLI, "stop", "--name", name]), `lvs-lab stop ${name}`);
      else await stopLab(engine, name);
      out.single[mode].push(now() - began);
      await cleanup(name);
    }
  }
  for (let r = 0; r < flags.parallelStopRuns; r++) {
    const names = [0, 1, 2, 3].map((i) => `bench-pstop-${r}-${i}`);
    for (const n of names) await startLab("dnat", engine, { name: n });
    await sleep(300);
    const began = now();
    const each = await Promise.all(names.map(async (n) => mustSucceed(await run("node", [CLI, "stop", "--name", n]), `lvs-lab stop ${n}`).ms));
    out.parallel.push({ totalMs: now() - began, eachMs: each });
    await Promise.all(names.map(cleanup));
  }
  // Where one removal's time goes.
  const t = tracedEngine();
  const name = "bench-stop-trace";
  await startLab("dnat", engine, { name });
  t.reset();
  const began = now();
  await stopLab(t.engine, name);
  out.trace = { totalMs: Math.round(now() - began), calls: [...t.calls] };
  await cleanup(name);
  out.singleStats = { cli: stats(out.single.cli), inProcess: stats(out.single.inProcess) };
  out.parallelStats = stats(out.parallel.map((p) => p.totalMs));
  log(`stop: CLI median ${fmtMs(out.singleStats.cli.median)}, 4 in parallel median ${fmtMs(out.parallelStats.median)}`);
}

async function sectionScale(results) {
  const shape = await topologyShape("dnat");
  const out = (results.scale = []);
  for (let round = 0; round < flags.scaleRounds; round++) {
    for (const k of flags.scale) {
      const names = Array.from({ length: k }, (_, i) => `bench-sc${round}-${k}-${i}`);
      const began = now();
      try {
        const each = await Promise.all(
          names.map(async (n) => {
            const r = await run("node", [CLI, "start", "dnat", "--name", n, "--no-ui"]);
            if (r.code !== 0) return { ok: false, ms: r.ms, error: (r.stderr || r.stdout).trim().slice(-300) };
            await waitReady(n, shape.nodes);
            return { ok: true, ms: now() - began };
          }),
        );
        const total = now() - began;
        out.push({ round, instances: k, totalMs: Math.round(total), perInstanceMs: Math.round(total / k), failures: each.filter((e) => !e.ok).map((e) => e.error), eachMs: each.map((e) => Math.round(e.ms)) });
        log(`scale ${k}: ${fmtMs(total)} (${fmtMs(total / k)} per instance)${each.some((e) => !e.ok) ? " WITH FAILURES" : ""}`);
      } finally {
        await Promise.all(names.map(cleanup));
        await sleep(500);
      }
    }
  }
}

function descendants(pid) {
  const kids = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const walk = (p) => (kids.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

function procSample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rssKb, ticks: Number(f[11]) + Number(f[12]) }; // utime + stime (fields 14, 15)
}

async function sectionUi(results) {
  const name = "bench-ui";
  const session = "bench-ui";
  const out = (results.ui = { available: false, seconds: flags.uiSeconds });
  const clk = Number((await run("getconf", ["CLK_TCK"])).stdout.trim()) || 100;
  const shape = await topologyShape("dnat");
  await run("tmux", ["kill-session", "-t", session]);
  try {
    const started = mustSucceed(await run("tmux", ["new-session", "-d", "-s", session, "-x", "100", "-y", "30", `${flags.uiEnv.map((kv) => `${kv.split("=")[0]}=${q(kv.split("=").slice(1).join("="))} `).join("")}node ${q(CLI)} start dnat --name ${name}`]), "tmux new-session");
    void started;
    const panePid = Number((await run("tmux", ["list-panes", "-t", session, "-F", "#{pane_pid}"])).stdout.trim());
    // The node process: the pane's process itself, or its descendant running bin/lvs-lab.js.
    let pid;
    const deadline = Date.now() + 60_000;
    let ready = false;
    while (Date.now() < deadline) {
      const candidates = [panePid, ...descendants(panePid)];
      pid = candidates.find((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("lvs-lab.js");
        } catch {
          return false;
        }
      });
      if (!pid || !existsSync(`/proc/${pid}`)) break;
      try {
        await waitReady(name, shape.nodes, 1000);
        ready = true;
        break;
      } catch {
        await sleep(250);
      }
    }
    const screen = async () => (await run("tmux", ["capture-pane", "-p", "-t", session])).stdout;
    if (!pid || !ready || !existsSync(`/proc/${pid}`)) {
      out.reason = !pid ? "no lvs-lab node process in the tmux pane" : "the lab did not become ready under the TUI within 60 s";
      out.screen = (await screen().catch(() => "")).trim().slice(0, 1500);
      log(`UI not available: ${out.reason}`);
      return;
    }
    await sleep(5000); // let the first render and the first checks settle
    const firstScreen = await screen();
    const looksLikeUi = existsSync(`/proc/${pid}`) && !/lab ready in/.test(firstScreen);
    if (!looksLikeUi) {
      out.reason = "`start` did not open a TUI (plain output in the pane, or the process ended)";
      out.screen = firstScreen.trim().slice(0, 1500);
      log(`UI not available: ${out.reason}`);
      return;
    }
    out.available = true;
    out.pid = pid;
    const samples = [];
    const first = procSample(pid);
    const t0 = now();
    let last = first;
    let maxSlice = 0;
    let lastT = t0;
    while (now() - t0 < flags.uiSeconds * 1000) {
      await sleep(1000);
      if (!existsSync(`/proc/${pid}`)) {
        out.available = false;
        out.reason = `the TUI process ended after ${Math.round((now() - t0) / 1000)} s`;
        break;
      }
      const s = procSample(pid);
      const t = now();
      samples.push({ t: Math.round(t - t0), rssKb: s.rssKb, ticks: s.ticks });
      maxSlice = Math.max(maxSlice, ((s.ticks - last.ticks) / clk) / ((t - lastT) / 1000));
      last = s;
      lastT = t;
    }
    const elapsed = (lastT - t0) / 1000;
    const rss = samples.map((s) => s.rssKb / 1024);
    out.rssMb = { ...stats(rss), last: rss[rss.length - 1] };
    out.cpuPercent = elapsed > 0 ? (100 * (last.ticks - first.ticks)) / clk / elapsed : undefined;
    out.cpuPercentMax1s = 100 * maxSlice;
    out.sampledSeconds = Math.round(elapsed);
    out.screen = (await screen()).trim().slice(0, 3000);
    out.samples = samples;
    log(`UI: RSS median ${out.rssMb.median?.toFixed(1)} MB, max ${out.rssMb.max?.toFixed(1)} MB, CPU ${out.cpuPercent?.toFixed(2)} % of a core`);
  } finally {
    await run("tmux", ["send-keys", "-t", session, "q"]);
    await sleep(300);
    await run("tmux", ["send-keys", "-t", session, "k"]);
    await sleep(1500);
    await run("tmux", ["kill-session", "-t", session]);
    await run("node", [CLI, "stop", "--name", name]);
    await cleanup(name);
  }
}

// --- report ------------------------------------------------------------------------------

const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : "–");
const yes = (ok) => (ok === undefined ? "n/a" : ok ? "**met**" : "**missed**");

function markdown(res) {
  const L = [];
  const e = res.env;
  L.push(`# lvs-lab bench — ${res.date}`, "");
  L.push(`Engine ${e.engine.version} (API ${e.engine.apiVersion}), kernel ${e.engine.kernel}; ${e.cpus} CPUs, ${e.memGb} GB; node ${e.node}; ${e.compose}; image ${e.image}.`);
  L.push(`Other containers on the engine when the bench began: ${e.otherContainers} (shared engine: expect noise). Flags: ${e.flags}.`, "");
  if (res.start) {
    L.push("## Warm start (image present) until every node is ready", "");
    L.push("Ready = all containers running and every real server's responder listening (`ss -Hltn`), polled by the bench every 25 ms for every method alike. Interleaved runs; median (min–max).", "");
    L.push("| topology | method | how | runs | median | min | max | ratio to (a) | returned (median) |", "|---|---|---|---|---|---|---|---|---|");
    for (const [id, by] of Object.entries(res.start)) {
      for (const [m, s] of Object.entries(by)) {
        L.push(`| ${id} | ${METHODS[m].label} | ${METHODS[m].how} | ${s.n} | ${fmtMs(s.median)} | ${fmtMs(s.min)} | ${fmtMs(s.max)} | ${m === "script" ? "1.00×" : ratio(s.median, by.script?.median)} | ${fmtMs(s.returnedMedian)} |`);
      }
    }
    L.push("", "nat is started with the library path (its lesson needs ip_vs, which this kernel lacks, so `lvs-lab start nat` refuses); dnat with all paths.");
    L.push("The baselines are generated from `topologies/<id>.yaml` through `planInstance` (same image, names, labels, env, capabilities, sysctls, addresses); the docker CLI and compose cannot set ReadonlyPaths, so they run with Docker's default masking (all of /proc/sys read-only), the closest equivalent. Subnet allocation for the baselines happens before the clock starts; lvs-lab's time includes its own allocation. Examples: `bench/results/generated/`.", "");
  }
  if (res.check) {
    const c = res.check;
    L.push("## Check latency (dnat, solved, all probes passing)", "");
    L.push("| what | samples | median | p95 | min | max | failed |", "|---|---|---|---|---|---|---|");
    for (const k of ["five", "openFive", "step3", "cli", "cliFloor", "nodeFloor"]) {
      const s = c[k];
      if (s) L.push(`| ${s.label} | ${s.n} | ${fmtMs(s.median)} | ${fmtMs(s.p95)} | ${fmtMs(s.min)} | ${fmtMs(s.max)} | ${s.failed ?? "–"} |`);
    }
    if (c.cli) L.push("", `Inside the CLI process the check itself (its report's \`seconds\`) took ${fmtMs(c.cli.checkInsideMedian)} (median); the rest is node start-up, imports and openLab.`);
    L.push("");
  }
  if (res.stop) {
    const s = res.stop;
    L.push("## Stop", "");
    L.push("| what | runs | median | min | max |", "|---|---|---|---|---|");
    L.push(`| one dnat instance, \`lvs-lab stop --name X\` (process) | ${s.singleStats.cli.n} | ${fmtMs(s.singleStats.cli.median)} | ${fmtMs(s.singleStats.cli.min)} | ${fmtMs(s.singleStats.cli.max)} |`);
    L.push(`| one dnat instance, in-process \`stopLab\` | ${s.singleStats.inProcess.n} | ${fmtMs(s.singleStats.inProcess.median)} | ${fmtMs(s.singleStats.inProcess.min)} | ${fmtMs(s.singleStats.inProcess.max)} |`);
    L.push(`| 4 instances, 4 \`lvs-lab stop --name\` processes in parallel (total) | ${s.parallelStats.n} | ${fmtMs(s.parallelStats.median)} | ${fmtMs(s.parallelStats.min)} | ${fmtMs(s.parallelStats.max)} |`);
    L.push("");
  }
  if (res.scale) {
    L.push("## Scale: N dnat instances started concurrently (`lvs-lab start` processes) until all ready", "");
    L.push("| instances | round | total | per instance | failures |", "|---|---|---|---|---|");
    for (const r of res.scale) L.push(`| ${r.instances} | ${r.round + 1} | ${fmtMs(r.totalMs)} | ${fmtMs(r.perInstanceMs)} | ${r.failures.length ? r.failures.length + ": " + r.failures[0].replace(/\|/g, "/").replace(/\n/g, " ").slice(0, 120) : 0} |`);
    L.push("");
  }
  if (res.ui) {
    const u = res.ui;
    L.push(`## TUI frugality (idle, live re-checking, ${u.seconds} s${flags.uiEnv.length ? `, env ${flags.uiEnv.join(" ")}` : ""})`, "");
    if (u.available) {
      L.push("| resident memory median | max | CPU (share of one core, whole window) | worst 1 s |", "|---|---|---|---|");
      L.push(`| ${u.rssMb.median.toFixed(1)} MB | ${u.rssMb.max.toFixed(1)} MB | ${u.cpuPercent.toFixed(2)} % | ${u.cpuPercentMax1s.toFixed(1)} % |`);
    } else L.push(`UI not available: ${u.reason}.`);
    L.push("");
  }
  L.push("## Targets", "");
  for (const t of res.targets) L.push(`- ${t.what}: ${t.value} → ${yes(t.met)}`);
  L.push("");
  return L.join("\n");
}

function targets(res) {
  const t = [];
  const d = res.start?.dnat;
  if (d) {
    for (const m of ["cli", "startLab"]) {
      t.push({ what: `warm start dnat (${METHODS[m].label}) ≤ 1.1× script`, value: ratio(d[m].median, d.script.median), met: d[m].median <= 1.1 * d.script.median });
      t.push({ what: `warm start dnat (${METHODS[m].label}) faster than docker-compose`, value: `${fmtMs(d[m].median)} vs ${fmtMs(d.compose.median)}`, met: d[m].median < d.compose.median });
    }
  }
  const n = res.start?.nat;
  if (n) {
    t.push({ what: "warm start nat (library) ≤ 1.1× script", value: ratio(n.library.median, n.script.median), met: n.library.median <= 1.1 * n.script.median });
    t.push({ what: "warm start nat (library) faster than docker-compose", value: `${fmtMs(n.library.median)} vs ${fmtMs(n.compose.median)}`, met: n.library.median < n.compose.median });
  }
  if (res.check?.five) t.push({ what: "one check ≤ 300 ms p95 in-process (5 probes, 3 nodes)", value: `p95 ${fmtMs(res.check.five.p95)}`, met: res.check.five.p95 <= 300 });
  if (res.check?.step3) t.push({ what: "one check ≤ 300 ms p95 in-process (dnat step 3 as written)", value: `p95 ${fmtMs(res.check.step3.p95)}`, met: res.check.step3.p95 <= 300 });
  if (res.stop) {
    t.push({ what: "stop ≤ 2 s (CLI, one instance)", value: fmtMs(res.stop.singleStats.cli.median), met: res.stop.singleStats.cli.median <= 2000 });
    t.push({ what: "stop of 4 instances in parallel ≤ 2 s", value: fmtMs(res.stop.parallelStats.median), met: res.stop.parallelStats.median <= 2000 });
  }
  if (res.ui) {
    if (res.ui.available) {
      t.push({ what: "TUI ≤ 120 MB resident", value: `max ${res.ui.rssMb.max.toFixed(1)} MB`, met: res.ui.rssMb.max <= 120 });
      t.push({ what: "TUI ≤ 2 % of a core idle", value: `${res.ui.cpuPercent.toFixed(2)} %`, met: res.ui.cpuPercent <= 2 });
    } else t.push({ what: "TUI ≤ 120 MB and ≤ 2 % CPU", value: "UI not available", met: undefined });
  }
  return t;
}

// --- main --------------------------------------------------------------------------------

async function main() {
  const began = now();
  const info = await engine.info();
  const compose = await run("docker-compose", ["version", "--short"]);
  if (compose.code !== 0) throw new Error("docker-compose (v1) is missing: apt-get install -y docker-compose");
  const image = await ensureLabImage(engine, (e) => log(`image: ${e.line}`));
  await cleanupAllBench();
  const others = (await engine.listContainers()).length;
  const results = {
    date: new Date().toISOString(),
    env: {
      engine: info,
      cpus: cpus().length,
      memGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      compose: `docker-compose ${compose.stdout.trim()}`,
      image,
      otherContainers: others,
      flags: process.argv.slice(2).join(" ") || "(defaults)",
    },
  };
  await mkdir(flags.out, { recursive: true });
  const genDir = join(flags.out, "generated");
  await mkdir(genDir, { recursive: true });

  const sections = [
    ["start", () => sectionStart(results, image, genDir)],
    ["check", () => sectionCheck(results)],
    ["stop", () => sectionStop(results, image)],
    ["scale", () => sectionScale(results)],
    ["ui", () => sectionUi(results)],
  ];
  results.errors = {};
  for (const [name, fn] of sections) {
    if (!want(name)) continue;
    const t = now();
    log(`== ${name}`);
    try {
      await fn();
    } catch (e) {
      results.errors[name] = String(e?.stack ?? e);
      log(`section ${name} failed: ${e?.message ?? e}`);
      await cleanupAllBench().catch(() => undefined);
    }
    log(`== ${name} took ${fmtMs(now() - t)}`);
  }
  results.targets = targets(results);
  results.totalSeconds = Math.round((now() - began) / 1000);
  let md = markdown(results);
  if (Object.keys(results.errors).length) md += `\n## Errors\n\n${Object.entries(results.errors).map(([k, v]) => `- ${k}: ${v.split("\n")[0]}`).join("\n")}\n`;
  md += `\nTotal bench time ${results.totalSeconds} s. Raw samples and engine-call traces: latest.json.\n`;
  await writeFile(join(flags.out, "latest.md"), md);
  await writeFile(join(flags.out, "latest.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(md);
  process.exit(Object.keys(results.errors).length ? 1 : 0);
}

main().catch(async (e) => {
  console.error(e);
  await cleanupAllBench().catch(() => undefined);
  process.exit(1);
});
