/**
 * Proves a lab on a fresh instance. For every step, from the step's clean start (the
 * earlier steps' solutions applied): its checks fail; each variant (another correct
 * solution) passes; each mistake fails with the words the lesson expects; the reference
 * solution passes, and the lab goes on from there. Between cases every node is put back
 * to the clean start with a snapshot (snapshot.ts).
 */
import type { Engine } from "../docker/engine.js";
import { t } from "../i18n/index.js";
import type { Case, Step } from "../lesson/markdown-lesson.js";
import { restartedNodes } from "../probes/registry.js";
import { blocking, stepPasses, type ProbeResult } from "../probes/runner.js";
import { renderTemplate } from "../topology/resolve.js";
import { checkStep, solveStep, startLab, stopLab, type LabSession } from "./session.js";
import type { KernelReport } from "./kernel.js";
import { compareScript, RESTORED, restoreScript, SAME, SAVED, saveScript, startedKeepalivedAgain } from "./snapshot.js";

export interface CaseProof {
  kind: "variant" | "mistake";
  name: string;
  /** The case behaved: a variant passed, a mistake failed with its words. */
  ok: boolean;
  /** The step's verdict with this case applied. */
  passed: boolean;
  /** Messages of the probes that held the step back. */
  messages: string[];
  /** Mistakes: the expected words that no failing message contained. */
  missingWords: string[];
  seconds: number;
}

export interface StepProof {
  step: number;
  id: string;
  title: string;
  failedBefore: boolean;
  passedAfter: boolean;
  cases: CaseProof[];
  /** What did not behave (empty when the step is proved). */
  surprises: string[];
  seconds: number;
}

export interface LabProof {
  lab: string;
  ok: boolean;
  steps: StepProof[];
  seconds: number;
  error?: string;
}

const SETTLE_TRIES = 5;
const SETTLE_DELAY_MS = 1500;
const SNAPSHOT_TIMEOUT_MS = 60_000;
const VRRP_SETTLE_MS = 30_000;
const VRRP_POLL_MS = 1_000;

/** Some effects take a moment (VRRP elections, IPVS counters): re-check a few times before calling it. */
async function checkUntil(run: () => Promise<ProbeResult[]>, settled: (r: ProbeResult[]) => boolean): Promise<ProbeResult[]> {
  let results = await run();
  for (let i = 1; i < SETTLE_TRIES && !settled(results); i++) {
    await new Promise((r) => setTimeout(r, SETTLE_DELAY_MS));
    results = await run();
  }
  return results;
}

/** Runs a snapshot script on `nodes` at once; the nodes whose output lacks `ok` are returned with its last line. */
async function onNodes(s: LabSession, nodes: string[], script: (node: string) => string, what: string, ok: RegExp): Promise<{ outputs: string[]; failed: string[] }> {
  const outputs = (
    await Promise.all(nodes.map((node) => s.engine.execScript(s.containers[node]!, script(node), { timeoutMs: SNAPSHOT_TIMEOUT_MS, what: `${what} on ${node}` })))
  ).map((r) => r.stdout);
  return { outputs, failed: nodes.flatMap((node, i) => (ok.test(outputs[i]!) ? [] : [`${node}: ${outputs[i]!.trim().split("\n").pop()}`])) };
}

/** Saves every node's state as the step's start; the nodes where saving failed are returned. */
async function save(s: LabSession): Promise<string[]> {
  return (await onNodes(s, Object.keys(s.containers), saveScript, "saving the step's start", SAVED)).failed;
}

/**
 * Puts the nodes back to the step's start; what did not come back exactly is returned. A
 * keepalived started again takes VRRP's master down interval (≈3.6 s, far slower under an
 * emulated CPU) to take its role back, and the backup then gives the VIP up: the next case
 * begins once every director is in its saved state on two reads in a row.
 */
async function restore(s: LabSession, touched: Set<string>): Promise<string[]> {
  const nodes = Object.keys(s.containers).filter(restoreOn(s, touched));
  const { outputs, failed } = await onNodes(s, nodes, (node) => restoreScript({ touched: touched.has(node) }), "restoring the step's start", RESTORED);
  if (!outputs.some(startedKeepalivedAgain)) return failed;
  const directors = nodes.filter((node) => isDirector(s, node));
  const until = Date.now() + VRRP_SETTLE_MS;
  let same = 0;
  let unsettled: string[] = [];
  while (same < 2 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, VRRP_POLL_MS));
    unsettled = (await onNodes(s, directors, compareScript, "waiting for VRRP to settle", SAME)).failed;
    same = unsettled.length ? 0 : same + 1;
  }
  return same < 2 ? [...failed, ...unsettled] : failed;
}

const isDirector = (s: LabSession, node: string) => ["director", "backup-director"].includes(s.topology.nodes[node]?.role ?? "");

/** Runs a variant's or mistake's blocks as a learner would type them (nodes of one block in parallel). */
async function play(s: LabSession, c: Case): Promise<string[]> {
  const failures: string[] = [];
  for (const block of c.blocks) {
    const commands = renderTemplate(block.commands, s.vars);
    await Promise.all(
      block.nodes.map(async (node) => {
        const res = await s.engine.execScript(s.containers[node]!, commands, { timeoutMs: 60_000, what: `${c.name} on ${node}` });
        if (res.exitCode !== 0) failures.push(`${node} exited ${res.exitCode}: ${(res.stderr || res.stdout).trim().slice(0, 200)}`);
      }),
    );
  }
  return failures;
}

/**
 * Everything a failing verdict says: messages and hop reports of the probes that hold the
 * step back. A mistake's `says` words are matched in English (`english`): one set of words
 * per mistake proves the cause whatever language the learner reads, and a translation
 * cannot weaken the proof; the learner's language is what the report shows.
 */
function failingText(results: ProbeResult[], english = false): string[] {
  return blocking(results).map((r) => {
    const path = english ? (r.englishPath ?? r.path) : r.path;
    return [english ? (r.english ?? r.message) : r.message, ...(path ?? []).map((h) => `${h.node}: ${h.what}`)].join(" ");
  });
}

/** Catalogue keys or {{variables}} left raw in a verdict: a translation that does not render. */
const UNRENDERED = /\{\{[^}]*\}\}|\b(probe|ui|cli|errors)\.[a-z]+\.[a-zA-Z.]+|\btrace\.[a-z][a-zA-Z]+\b/;

/**
 * Where a restore must run: the nodes the previous case touched (put back in full), and the
 * client and directors, whose traffic-learned state (ARP entries, IPVS connections) or
 * keepalived would carry over. An untouched real server or router keeps nothing that
 * matters to the next case, and each exec costs seconds on an emulated CPU.
 */
function restoreOn(s: LabSession, touched: Set<string>): (node: string) => boolean {
  return (node) => touched.has(node) || s.topology.nodes[node]?.role === "client" || isDirector(s, node);
}

/** `touched`: the nodes the previous case ran commands on; they are put back in full. */
async function proveCase(s: LabSession, index: number, kind: CaseProof["kind"], c: Case, touched: Set<string>): Promise<CaseProof> {
  const began = Date.now();
  const unrestored = await restore(s, touched);
  const stepStartedAt = new Date().toISOString();
  const commandFailures = await play(s, c);
  const words = c.says.map((w) => renderTemplate(w, s.vars));
  const missing = (r: ProbeResult[]) => words.filter((w) => !failingText(r, true).some((m) => m.includes(w)));
  const results = await checkUntil(
    // A mistake is proved by the words a learner reads, causes included; a variant only has to pass.
    () => checkStep(s, index, { stepStartedAt, trace: kind === "mistake" }),
    kind === "variant" ? stepPasses : (r) => !stepPasses(r) && missing(r).length === 0,
  );
  const passed = stepPasses(results);
  const missingWords = kind === "mistake" ? missing(results) : [];
  const unrendered = failingText(results).filter((m) => UNRENDERED.test(m));
  const messages = [
    ...failingText(results),
    ...unrendered.map((message) => t("selftest.notRendered", { message })),
    ...unrestored.map((what) => t("selftest.notRestored", { what })),
    ...commandFailures.map((what) => t("selftest.commandFailed", { what })),
  ];
  const ok = kind === "variant" ? passed : !passed && missingWords.length === 0 && unrendered.length === 0;
  return { kind, name: c.name, ok, passed, messages, missingWords, seconds: (Date.now() - began) / 1000 };
}

function describeCase(p: CaseProof): string {
  const messages = p.messages.join(" | ");
  if (p.kind === "variant") return t("selftest.variantRejected", { name: p.name, messages });
  if (p.passed) return t("selftest.mistakePassed", { name: p.name });
  return t("selftest.mistakeUnsaid", { name: p.name, words: p.missingWords.join('", "'), messages });
}

/**
 * A step that reads what happened since it began (an outage, `{{stepSeconds}}`) is judged as
 * a learner meets it: solved from its own start, before any case or restore has moved
 * keepalived's roles or the client's ARP entries. Its cases follow, and the solution runs
 * once more so that the next step begins where a learner's would.
 */
const measuresSinceStart = (step: Step) => JSON.stringify(step.checks).includes("{{stepSeconds}}");

/** Runs the step's solution and checks it, every probe, observations included: they are the lesson's own claims. */
async function solveAndCheck(s: LabSession, index: number): Promise<ProbeResult[]> {
  // The solution's own start: what ran before (cases, restores, a failover each) is not in
  // what a learner who just solved the step would measure.
  const solvedFrom = new Date().toISOString();
  await solveStep(s, index);
  return checkUntil(() => checkStep(s, index, { stepStartedAt: solvedFrom, trace: false }), (r) => r.every((p) => p.ok));
}

async function proveStep(s: LabSession, index: number, onCase?: (p: CaseProof) => void): Promise<StepProof> {
  const step = s.lab.lesson.steps[index]!;
  const began = Date.now();
  const cases = [...step.variants.map((c) => ["variant", c] as const), ...step.mistakes.map((c) => ["mistake", c] as const)];
  const surprises: string[] = [];
  if (cases.length) surprises.push(...(await save(s)).map((what) => t("selftest.snapshot", { what })));
  const before = await checkStep(s, index, { trace: false });
  const failedBefore = !stepPasses(before);
  const solveFirst = cases.length > 0 && measuresSinceStart(step);
  let after = solveFirst ? await solveAndCheck(s, index) : undefined;
  const proofs: CaseProof[] = [];
  // A node the check restarts lost its state as if a case had changed it: it is put back in full.
  const restarted = restartedNodes(step.checks);
  let touched = new Set<string>([...restarted, ...(solveFirst ? step.solutions.map((sol) => sol.node) : [])]);
  for (const [kind, c] of cases) {
    const p = await proveCase(s, index, kind, c, touched);
    touched = new Set([...restarted, ...c.blocks.flatMap((b) => b.nodes)]);
    proofs.push(p);
    onCase?.(p);
    if (!p.ok) surprises.push(describeCase(p));
  }
  if (cases.length) {
    const unrestored = await restore(s, touched);
    surprises.push(...unrestored.map((what) => t("selftest.notRestoredBeforeSolution", { what })));
  }
  if (after) await solveStep(s, index);
  else after = await solveAndCheck(s, index);
  const passedAfter = after.every((r) => r.ok);
  if (!failedBefore) surprises.unshift(t("selftest.passedBefore"));
  surprises.push(...after.filter((r) => !r.ok).map((r) => t("selftest.afterSolution", { message: r.message })));
  return {
    step: index + 1,
    id: step.id,
    title: step.title,
    failedBefore,
    passedAfter,
    cases: proofs,
    surprises,
    seconds: (Date.now() - began) / 1000,
  };
}

export function stepProved(p: StepProof): boolean {
  return p.failedBefore && p.passedAfter && p.cases.every((c) => c.ok) && p.surprises.length === 0;
}

export async function selftestLab(
  labId: string,
  engine: Engine,
  opts: { signal?: AbortSignal; lang?: string; kernelReport?: KernelReport; onStep?: (p: StepProof) => void; onCase?: (step: number, p: CaseProof) => void } = {},
): Promise<LabProof> {
  const began = Date.now();
  const name = `st-${labId}-${process.pid % 100000}`;
  const steps: StepProof[] = [];
  try {
    const s = await startLab(labId, engine, { name, signal: opts.signal, lang: opts.lang ?? "en", kernelReport: opts.kernelReport });
    for (const i of s.lab.lesson.steps.keys()) {
      const proof = await proveStep(s, i, (c) => opts.onCase?.(i + 1, c));
      steps.push(proof);
      opts.onStep?.(proof);
      if (opts.signal?.aborted) break;
    }
    return { lab: labId, ok: steps.length === s.lab.lesson.steps.length && steps.every(stepProved), steps, seconds: (Date.now() - began) / 1000 };
  } catch (e) {
    return { lab: labId, ok: false, steps, seconds: (Date.now() - began) / 1000, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await stopLab(engine, name).catch(() => undefined);
  }
}
