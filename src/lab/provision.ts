/**
 * One instance per learner on a shared engine, started side by side: what `lvs-lab class
 * provision` does before a workshop (each learner then runs `lvs-lab start <lab> --name
 * <their name>`, which picks their running instance up).
 */
import type { EngineClient } from "../docker/engine.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { INSTANCE_NAME, runningInstanceOf, startLab } from "./session.js";

export interface ProvisionResult {
  name: string;
  state: "started" | "running" | "failed";
  seconds: number;
  error?: string;
  /** Warnings of the start (e.g. an instance that could not be fenced off). */
  notes: string[];
}

/** `prefix-01` … `prefix-NN`, zero-padded to the width of the count so that they sort. */
export function numberedNames(prefix: string, count: number): string[] {
  if (!Number.isInteger(count) || count < 1) throw new UserError(t("errors.countRange"));
  const width = String(count).length;
  return checkedNames(Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, "0")}`));
}

/** A roster file: one learner's instance name a line; blank lines and `#` comments are skipped. */
export function parseRoster(text: string): string[] {
  const names = text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
  if (!names.length) throw new UserError(t("errors.rosterEmpty"));
  return checkedNames(names);
}

function checkedNames(names: string[]): string[] {
  const bad = names.filter((n) => !INSTANCE_NAME.test(n));
  if (bad.length) throw new UserError(t("errors.badInstanceNames", { names: bad.map((b) => `"${b}"`).join(", ") }));
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new UserError(t("errors.rosterTwice", { names: [...new Set(twice)].join(", ") }));
  return names;
}

/**
 * Starts the lab for every name, at most `parallel` at a time (each start is mostly
 * waiting for the engine); a name whose instance already runs is left as it is. One
 * failed start does not stop the others.
 */
export async function provisionClass(
  labId: string,
  engine: EngineClient,
  names: string[],
  opts: { parallel: number; lang?: string; onResult?: (r: ProvisionResult) => void },
): Promise<ProvisionResult[]> {
  const results: ProvisionResult[] = [];
  const queue = [...names];
  const provisionOne = async (name: string): Promise<ProvisionResult> => {
    const began = Date.now();
    const notes: string[] = [];
    const took = () => (Date.now() - began) / 1000;
    try {
      if (await runningInstanceOf(engine, name, labId)) return { name, state: "running", seconds: took(), notes };
      await startLab(labId, engine, { name, lang: opts.lang, onNote: (n) => notes.push(n) });
      return { name, state: "started", seconds: took(), notes };
    } catch (e) {
      return { name, state: "failed", seconds: took(), error: (e as Error).message, notes };
    }
  };
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const r = await provisionOne(name);
      results.push(r);
      opts.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, names.length)) }, worker));
  return names.map((n) => results.find((r) => r.name === n)!);
}
