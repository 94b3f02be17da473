/**
 * Lessons (labs/<id>.md): YAML front matter, an introduction, then one step per `## `
 * heading. Inside a step, fenced blocks carry the machine-readable parts:
 *   ```check``` a YAML list of probes, ```hint``` one hint each,
 *   ```solution <node>``` the commands a learner would type on that node,
 *   ```variant <name> <node>…``` another correct solution (selftest proves it passes),
 *   ```mistake <name> <node>…``` a classic wrong one, with `#| says: …` lines naming the
 *   words its failing verdict must contain (selftest proves it fails with them),
 *   ```predict``` a question with choices, asked before the measurement.
 * Everything else is prose for the learner.
 */
import MarkdownIt from "markdown-it";
import { z } from "zod";
import { FileError } from "../errors.js";
import { checkBlockSchema, type Probe } from "../probes/registry.js";
import { parseYaml } from "../yaml.js";

const md = new MarkdownIt();

export const frontMatterSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/),
    title: z.string().min(1),
    summary: z.string().min(1),
    topology: z.string().min(1),
    level: z.enum(["beginner", "intermediate", "advanced"]),
    requirements: z.array(z.enum(["ip_vs", "ipip"])).default([]),
    order: z.number().int().default(100),
  })
  .strict();
export type FrontMatter = z.infer<typeof frontMatterSchema>;

export interface Solution {
  node: string;
  commands: string;
  line: number;
}

/** One block of a variant or mistake: the same commands on each of its nodes. */
export interface CaseBlock {
  nodes: string[];
  commands: string;
  line: number;
}

/** Another correct solution, or a classic mistake, that selftest plays from the step's clean start. */
export interface Case {
  name: string;
  blocks: CaseBlock[];
  /** Mistakes only: words the failing verdicts must contain. */
  says: string[];
  line: number;
}

export const predictionSchema = z
  .object({
    question: z.string().min(1),
    choices: z.array(z.string().min(1)).min(2).max(9),
    /** 1-based index of the right choice. */
    answer: z.number().int().min(1),
    /** Shown once the step passes: what the measurement showed and why. */
    reveal: z.string().min(1),
  })
  .strict()
  .refine((p) => p.answer <= p.choices.length, { message: "must be the number of one of the choices", path: ["answer"] });
export type Prediction = z.infer<typeof predictionSchema>;

export interface Step {
  id: string;
  title: string;
  /** Markdown for the learner, with the fenced blocks taken out. */
  prose: string;
  checks: Probe[];
  hints: string[];
  solutions: Solution[];
  variants: Case[];
  mistakes: Case[];
  predict?: Prediction;
  line: number;
}

export interface Lesson {
  file: string;
  meta: FrontMatter;
  intro: string;
  steps: Step[];
}

/** The learner-facing strings of one probe of a check block, as a translation words them. */
export const checkTextsSchema = z.object({ title: z.string().min(1), explain: z.string().min(1), message: z.string().min(1) }).partial().strict();
export type CheckTexts = z.infer<typeof checkTextsSchema>;
export const CHECK_TEXT_FIELDS = ["title", "explain", "message"] as const;

/**
 * Translations carry prose, hints, predictions and (in a ```checks block: one entry per
 * probe, in order) the probes' title/explain/message; they are matched to the original by step id.
 */
export interface Translation {
  file: string;
  title?: string;
  summary?: string;
  intro: string;
  steps: Array<Pick<Step, "id" | "title" | "prose" | "hints" | "line" | "predict"> & { checks?: CheckTexts[] }>;
}

const HEADING_ID = /\s*\{#([a-z0-9-]+)\}\s*$/;

export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

function splitFrontMatter(text: string, file: string): { yaml: string; body: string; bodyLine: number } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(text);
  if (!m) throw new FileError(file, 1, "a lesson starts with front matter between --- lines (id, title, summary, topology, level)");
  return { yaml: m[1]!, body: text.slice(m[0].length), bodyLine: m[0].split("\n").length };
}

interface RawStep {
  title: string;
  explicitId?: string;
  line: number;
  prose: string;
  fences: Array<{ info: string; content: string; line: number }>;
}

/** Splits the body at `## ` headings, pulling out the fenced blocks with their file lines. */
function splitSteps(body: string, bodyLine: number): { intro: string; steps: RawStep[] } {
  const tokens = md.parse(body, {});
  const lines = body.split("\n");
  const headings = tokens
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => t.type === "heading_open" && t.tag === "h2")
    .map(({ t, i }) => ({ start: t.map![0], text: tokens[i + 1]!.content }));
  const special = tokens.filter((t) => t.type === "fence" && /^(check|hint|solution|variant|mistake|predict)\b/.test(t.info.trim()));
  const isSpecialLine = new Set<number>();
  for (const f of special) for (let l = f.map![0]; l < f.map![1]; l++) isSpecialLine.add(l);
  const prose = (from: number, to: number) =>
    lines
      .slice(from, to)
      .filter((_, i) => !isSpecialLine.has(from + i))
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim();
  const intro = prose(0, headings[0]?.start ?? lines.length);
  const steps = headings.map((h, n) => {
    const end = headings[n + 1]?.start ?? lines.length;
    const idMatch = HEADING_ID.exec(h.text);
    return {
      title: h.text.replace(HEADING_ID, "").trim(),
      explicitId: idMatch?.[1],
      line: h.start + bodyLine,
      prose: prose(h.start + 1, end),
      fences: special
        .filter((f) => f.map![0] > h.start && f.map![0] < end)
        .map((f) => ({ info: f.info.trim(), content: f.content, line: f.map![0] + bodyLine })),
    };
  });
  return { intro, steps };
}

const CASE_NAME = /^[a-z0-9][a-z0-9-]*$/;
const SAYS = /^#\|\s*says:\s*(.+)$/;

/** Adds one ```variant/```mistake fence to its case (blocks with one name form one case). */
function addCaseBlock(
  into: Map<string, Case>,
  kind: "variant" | "mistake",
  args: string[],
  f: { content: string; line: number },
  file: string,
): void {
  const [name, ...nodes] = args;
  if (!name || !CASE_NAME.test(name) || !nodes.length) {
    throw new FileError(file, f.line, `a ${kind} block has a name and its nodes: "\`\`\`${kind} eth-only rs1 rs2"`);
  }
  const lines = f.content.trimEnd().split("\n");
  const says = lines.map((l) => SAYS.exec(l.trim())?.[1]?.trim()).filter((w): w is string => Boolean(w));
  if (says.length && kind === "variant") throw new FileError(file, f.line, `"#| says:" belongs to mistakes; variant "${name}" must pass`);
  const commands = lines.filter((l) => !SAYS.test(l.trim())).join("\n").trim();
  if (!commands) throw new FileError(file, f.line, `${kind} "${name}" has no commands`);
  const entry = into.get(name) ?? { name, blocks: [], says: [], line: f.line };
  entry.blocks.push({ nodes, commands, line: f.line });
  entry.says.push(...says);
  into.set(name, entry);
}

export function parseLesson(text: string, file: string): Lesson {
  const { yaml, body, bodyLine } = splitFrontMatter(text, file);
  const meta = parseYaml(yaml, { file, firstLine: 2 }, frontMatterSchema);
  const { intro, steps: raw } = splitSteps(body, bodyLine);
  if (!raw.length) throw new FileError(file, bodyLine, "a lesson needs at least one step (a `## ` heading)");
  const seen = new Map<string, number>();
  const steps = raw.map((s): Step => {
    const id = s.explicitId ?? slug(s.title);
    if (seen.has(id)) throw new FileError(file, s.line, `step id "${id}" is used twice (also line ${seen.get(id)}); add {#another-id} to the heading`);
    seen.set(id, s.line);
    const checks: Probe[] = [];
    const hints: string[] = [];
    const solutions: Solution[] = [];
    const cases = { variant: new Map<string, Case>(), mistake: new Map<string, Case>() };
    let predict: Prediction | undefined;
    for (const f of s.fences) {
      const [kind, ...args] = f.info.split(/\s+/);
      if (kind === "check") checks.push(...parseYaml(f.content, { file, firstLine: f.line + 1 }, checkBlockSchema));
      else if (kind === "hint") {
        if (!f.content.trim()) throw new FileError(file, f.line, "empty hint block");
        hints.push(f.content.trim());
      } else if (kind === "predict") {
        if (predict) throw new FileError(file, f.line, `step "${s.title}" has two predict blocks; one question per step`);
        predict = parseYaml(f.content, { file, firstLine: f.line + 1 }, predictionSchema);
      } else if (kind === "variant" || kind === "mistake") {
        addCaseBlock(cases[kind], kind, args, f, file);
      } else {
        if (args.length !== 1) throw new FileError(file, f.line, 'a solution block names its node: "```solution director"');
        solutions.push({ node: args[0]!, commands: f.content.trimEnd(), line: f.line });
      }
    }
    if (!checks.length) throw new FileError(file, s.line, `step "${s.title}" has no \`\`\`check block`);
    if (!solutions.length) throw new FileError(file, s.line, `step "${s.title}" has no \`\`\`solution block`);
    if (checks.every((c) => c.observe)) throw new FileError(file, s.line, `step "${s.title}" has only observations; one probe at least must prove the step`);
    for (const c of checks) {
      if (c.hint !== undefined && c.hint > hints.length) {
        throw new FileError(file, s.line, `a probe in step "${s.title}" refers to hint ${c.hint}, but the step has ${hints.length}`);
      }
    }
    for (const m of cases.mistake.values()) {
      if (!m.says.length) throw new FileError(file, m.line, `mistake "${m.name}" needs a "#| says: …" line: the words its failing verdict must contain`);
    }
    const variants = [...cases.variant.values()];
    const mistakes = [...cases.mistake.values()];
    return { id, title: s.title, prose: s.prose, checks, hints, solutions, variants, mistakes, ...(predict ? { predict } : {}), line: s.line };
  });
  return { file, meta, intro, steps };
}

const translationFrontMatter = z.object({ id: z.string(), title: z.string().optional(), summary: z.string().optional() }).passthrough();

export function parseTranslation(text: string, file: string): Translation & { id: string } {
  const { yaml, body, bodyLine } = splitFrontMatter(text, file);
  const meta = parseYaml(yaml, { file, firstLine: 2 }, translationFrontMatter);
  const { intro, steps } = splitSteps(body, bodyLine);
  return {
    file,
    id: meta.id,
    title: meta.title,
    summary: meta.summary,
    intro,
    steps: steps.map((s) => {
      if (!s.explicitId) throw new FileError(file, s.line, `a translated step names the step it translates: "## ${s.title} {#step-id}"`);
      if (s.fences.some((f) => !/^(hint|predict)\b/.test(f.info) && f.info !== "check-texts")) {
        throw new FileError(file, s.line, "translations carry prose, hints, predictions and check-texts only; checks and solutions live in the original");
      }
      const predict = s.fences.find((f) => f.info.startsWith("predict"));
      const checks = s.fences.find((f) => f.info === "check-texts");
      return {
        id: s.explicitId,
        title: s.title,
        prose: s.prose,
        hints: s.fences.filter((f) => f.info.startsWith("hint")).map((f) => f.content.trim()),
        ...(predict ? { predict: parseYaml(predict.content, { file, firstLine: predict.line + 1 }, predictionSchema) } : {}),
        ...(checks ? { checks: parseYaml(checks.content, { file, firstLine: checks.line + 1 }, z.array(checkTextsSchema)) } : {}),
        line: s.line,
      };
    }),
  };
}

/** The original with a translation's prose and hints laid over it, step by step (lintTranslation has checked that they match). */
export function applyTranslation(lesson: Lesson, t: Translation): Lesson {
  const byId = new Map(t.steps.map((s) => [s.id, s]));
  for (const s of t.steps) {
    if (!lesson.steps.some((o) => o.id === s.id)) throw new FileError(t.file, s.line, `there is no step "${s.id}" in ${lesson.file}`);
  }
  return {
    ...lesson,
    meta: { ...lesson.meta, title: t.title ?? lesson.meta.title, summary: t.summary ?? lesson.meta.summary },
    intro: t.intro || lesson.intro,
    steps: lesson.steps.map((s) => {
      const tr = byId.get(s.id);
      if (!tr) return s;
      // The answer stays the original's: a translation words the question, it cannot change it.
      const predict = s.predict && tr.predict ? { ...tr.predict, answer: s.predict.answer } : s.predict;
      // Probes keep what they test; only the words a learner reads are the translation's.
      const checks = tr.checks ? s.checks.map((c, i) => ({ ...c, ...tr.checks![i], originalTexts: { title: c.title, explain: c.explain, message: "message" in c ? c.message : undefined } }) as Probe) : s.checks;
      return { ...s, title: tr.title, prose: tr.prose, hints: tr.hints, checks, ...(predict ? { predict } : {}) };
    }),
  };
}
