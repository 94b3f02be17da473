/**
 * What every bench section shares: the engine, timing and statistics, processes, "ready",
 * the same subnet choice `startLab` makes, and the cleanup of the bench's own instances.
 *
 * Every Docker resource the bench creates belongs to an instance whose name starts with
 * "bench-"; only those are ever removed.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Engine, resolveDockerHost } from "../docker/engine.js";
import { listInstances, removeInstance } from "../docker/instance.js";
import { LABEL } from "../docker/labels.js";
import { usedIpv4Blocks } from "../lab/host.js";
import { planInstance } from "../lab/plan.js";
import { stopLab } from "../lab/session.js";
import { packageRoot } from "../paths.js";
import { deleteProgress } from "../state/progress.js";
import { allocateSubnets } from "../topology/allocate.js";
import { loadTopology } from "../topology/load.js";
import { resolveTopology, type ResolvedNode } from "../topology/resolve.js";

export const root = packageRoot;
export const CLI = join(root, "bin", "lvs-lab.js");
export const engine = new Engine(resolveDockerHost());

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const now = () => performance.now();
export const log = (...a: unknown[]) => process.stderr.write(`[bench] ${a.join(" ")}\n`);

export interface Stats {
  n: number;
  median?: number;
  min?: number;
  max?: number;
  p95?: number;
  mean?: number;
}

/** Median, min, max, mean and p95 (nearest rank). */
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return { n: 0 };
  const rank = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { n: s.length, median, min: s[0], max: s[s.length - 1], p95: rank(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a process to completion; resolves with its exit code, output and wall time (ms). */
export function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const began = now();
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b));
    child.stderr.on("data", (b: Buffer) => (stderr += b));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: stderr + String(e), ms: now() - began }));
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: now() - began }));
  });
}

export function mustSucceed(r: ProcessRun, what: string): ProcessRun {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-600)}`);
  return r;
}

export const shellQuote = (s: string | number) => `'${String(s).replace(/'/g, `'\\''`)}'`;
export const fmtMs = (ms: number | undefined) => (ms === undefined ? "–" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

/** Removes one of the bench's own instances (lvs-lab, script or compose: all carry the same labels). */
export async function cleanup(name: string): Promise<void> {
  if (!name.startsWith("bench-")) throw new Error(`refusing to remove ${name}: not a bench instance`);
  await stopLab(engine, name).catch(() => removeInstance(engine, name));
  await deleteProgress(name).catch(() => undefined);
}

/** Leftovers of an earlier, interrupted bench run (bench-* only). */
export async function cleanupAllBench(): Promise<void> {
  const mine = (await listInstances(engine)).filter((i) => i.name.startsWith("bench-"));
  for (const i of mine) log(`removing leftover bench instance ${i.name}`);
  await Promise.all(mine.map((i) => cleanup(i.name)));
  await run("tmux", ["kill-session", "-t", "bench-ui"]);
}

export type Nodes = Record<string, ResolvedNode>;

/** The topology's nodes (names, real servers' ports): independent of the subnets. */
export async function topologyNodes(id: string): Promise<Nodes> {
  return resolveTopology(await loadTopology(id), {}).nodes;
}

/** The same subnet choice `startLab` makes: every engine network and host route avoided. */
export async function allocatedPlan(id: string, instance: string, image: string) {
  const topo = await loadTopology(id);
  const resolved = resolveTopology(topo, allocateSubnets(topo, await usedIpv4Blocks(engine)));
  return { resolved, plan: planInstance(resolved, instance, image) };
}

/**
 * "Ready", the same for every method: every node's container exists and is running,
 * and every real server's responder listens on all its ports (`ss -Hltn` in the
 * container, as lvs-lab's own start checks). Polled every 25 ms by this process.
 */
export async function waitReady(instance: string, nodes: Nodes, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const servers = Object.values(nodes).filter((n) => n.serve.length);
  for (;;) {
    const list = await engine.listContainers(instance);
    const byNode = new Map(list.map((c) => [c.labels[LABEL.node], c]));
    if (Object.keys(nodes).every((n) => byNode.get(n)?.state === "running")) {
      const listening = await Promise.all(
        servers.map(async (n) => {
          const r = await engine.exec(byNode.get(n.name)!.id, ["ss", "-Hltn"], { timeoutMs: 5000 });
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

// --- engine call tracing (for the "why") --------------------------------------------------

const TRACED = ["info", "imageExists", "listContainers", "listNetworks", "usedSubnets", "createNetwork", "createContainer", "startContainer", "removeContainer", "removeNetwork", "exec", "execScript", "runOnce", "runOnHost"] as const;

export interface EngineCall {
  call: string;
  what: string;
  startMs: number;
  ms: number;
}

/** A second Engine whose calls are timed; returns it and the call log. */
export function tracedEngine(): { engine: Engine; calls: EngineCall[]; reset: () => void } {
  const traced = new Engine(resolveDockerHost());
  const calls: EngineCall[] = [];
  let t0 = now();
  const methods = traced as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const m of TRACED) {
    const original = methods[m]!.bind(traced);
    methods[m] = async (...args: unknown[]) => {
      const start = now();
      try {
        return await original(...args);
      } finally {
        calls.push({ call: m, what: callSubject(m, args), startMs: Math.round(start - t0), ms: Math.round(now() - start) });
      }
    };
  }
  return {
    engine: traced,
    calls,
    reset: () => {
      t0 = now();
      calls.length = 0;
    },
  };
}

function callSubject(method: string, args: unknown[]): string {
  const [first, second] = args;
  if (method === "exec") return Array.isArray(second) ? second.slice(0, 2).join(" ").slice(0, 40) : "";
  if (method === "execScript") return typeof second === "string" ? second.slice(0, 40) : "";
  if (typeof first === "string") return first.slice(0, 30);
  return (first as { name?: string } | undefined)?.name ?? "";
}

export function summarizeCalls(calls: EngineCall[]): Record<string, { count: number; totalMs: number; maxMs: number }> {
  const by: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
  for (const c of calls) {
    const s = (by[c.call] ??= { count: 0, totalMs: 0, maxMs: 0 });
    s.count++;
    s.totalMs += c.ms;
    s.maxMs = Math.max(s.maxMs, c.ms);
  }
  return by;
}
