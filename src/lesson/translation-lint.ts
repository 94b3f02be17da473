/**
 * A translation cannot silently rot: it must translate every step of the original, with as
 * many hints, the same prediction (as many choices, the same answer) and the same
 * {{variables}}; and a catalogue that claims to be complete must have every message key.
 * Each problem is a file:line error; loading a lab refuses a translation with any.
 */
import { CATALOGUES, type PartialCatalogue } from "../i18n/index.js";
import { en } from "../i18n/en.js";
import { CHECK_TEXT_FIELDS, type CheckTexts, type Lesson, type Step, type Translation } from "./markdown-lesson.js";

export interface LintProblem {
  file: string;
  line: number;
  message: string;
}

export const formatProblem = (p: LintProblem) => `${p.file}:${p.line}: ${p.message}`;

const VARIABLE = /\{\{\s*([\w.-]+)\s*\}\}/g;

function variables(...texts: Array<string | undefined>): Set<string> {
  return new Set(texts.flatMap((t) => [...(t ?? "").matchAll(VARIABLE)].map((m) => m[1]!)));
}

function predictionTexts(p: Step["predict"]): string[] {
  return p ? [p.question, ...p.choices, p.reveal] : [];
}

/** "{{a}}, {{b}}" for the variables one set has and the other lacks. */
function difference(a: Set<string>, b: Set<string>): string {
  return [...a].filter((v) => !b.has(v)).map((v) => `{{${v}}}`).join(", ");
}

function compareVariables(original: Set<string>, translated: Set<string>, where: string): string[] {
  const added = difference(translated, original);
  const dropped = difference(original, translated);
  return [
    ...(added ? [`${where} uses ${added}, which the original does not`] : []),
    ...(dropped ? [`${where} leaves out ${dropped}, which the original uses`] : []),
  ];
}

/** The words of each probe a learner reads: what a translation's check-texts must cover. */
function checkTexts(step: Step): CheckTexts[] {
  return step.checks.map((c) => Object.fromEntries(CHECK_TEXT_FIELDS.flatMap((f) => (f in c && typeof (c as CheckTexts)[f] === "string" ? [[f, (c as CheckTexts)[f]]] : []))));
}

function lintCheckTexts(o: Step, given: CheckTexts[] | undefined): string[] {
  const wanted = checkTexts(o);
  if (!wanted.some((w) => Object.keys(w).length)) return given ? [`step "${o.id}" has check-texts, but its probes have no title, explain or message`] : [];
  if (!given) return [`step "${o.id}" lacks a check-texts block for the title, explain and message of its probes`];
  if (given.length !== wanted.length) return [`the check-texts of step "${o.id}" have ${given.length} entries, the step has ${wanted.length} probes`];
  return wanted.flatMap((w, i) => {
    const fields = (x: CheckTexts) => Object.keys(x).sort().join(", ") || "none";
    return fields(w) === fields(given[i]!) ? [] : [`check-texts entry ${i + 1} of step "${o.id}" gives ${fields(given[i]!)}, the probe has ${fields(w)}`];
  });
}

const texts = (checks: CheckTexts[] | undefined) => (checks ?? []).flatMap((c) => Object.values(c));

export function lintTranslation(lesson: Lesson, tr: Translation): LintProblem[] {
  const problems: LintProblem[] = [];
  const at = (line: number, message: string) => problems.push({ file: tr.file, line, message });
  const byId = new Map(tr.steps.map((s) => [s.id, s]));
  for (const s of tr.steps) {
    if (!lesson.steps.some((o) => o.id === s.id)) at(s.line, `there is no step "${s.id}" in ${lesson.file}`);
  }
  const order = tr.steps.map((s) => s.id).filter((id) => lesson.steps.some((o) => o.id === id));
  const originalOrder = lesson.steps.map((s) => s.id).filter((id) => byId.has(id));
  if (order.join() !== originalOrder.join()) at(tr.steps[0]?.line ?? 1, `the steps are in another order than in ${lesson.file} (${originalOrder.join(", ")})`);
  for (const m of compareVariables(variables(lesson.intro), variables(tr.intro), "the introduction")) at(1, m);
  const lastLine = tr.steps.at(-1)?.line ?? 1;
  for (const o of lesson.steps) {
    const s = byId.get(o.id);
    if (!s) {
      at(lastLine, `step "${o.id}" (${lesson.file}:${o.line}) is not translated`);
      continue;
    }
    if (s.hints.length !== o.hints.length) at(s.line, `step "${o.id}" has ${s.hints.length} hints, the original (${lesson.file}:${o.line}) has ${o.hints.length}`);
    if (Boolean(s.predict) !== Boolean(o.predict)) {
      at(s.line, `step "${o.id}" ${s.predict ? "has a prediction, the original has none" : "lacks the original's prediction"} (${lesson.file}:${o.line})`);
    } else if (s.predict && o.predict) {
      if (s.predict.choices.length !== o.predict.choices.length) {
        at(s.line, `the prediction of step "${o.id}" has ${s.predict.choices.length} choices, the original has ${o.predict.choices.length}`);
      }
      if (s.predict.answer !== o.predict.answer) at(s.line, `the prediction of step "${o.id}" gives answer ${s.predict.answer}, the original ${o.predict.answer}`);
    }
    for (const m of lintCheckTexts(o, s.checks)) at(s.line, m);
    const original = variables(o.title, o.prose, ...o.hints, ...predictionTexts(o.predict), ...texts(checkTexts(o)));
    const translated = variables(s.title, s.prose, ...s.hints, ...predictionTexts(s.predict), ...texts(s.checks));
    for (const m of compareVariables(original, translated, `step "${o.id}"`)) at(s.line, m);
  }
  return problems;
}

/** Plural forms a language needs for a key that English splits into _one/_other. */
function pluralForms(lang: string): string[] {
  return new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
}

/** Message keys of the English catalogue that `messages` lacks, in the plural forms of `lang`. */
export function missingKeys(lang: string, messages: PartialCatalogue, reference: object = en): string[] {
  const missing: string[] = [];
  const walk = (ref: Record<string, unknown>, got: Record<string, unknown> | undefined, prefix: string) => {
    const seenPlural = new Set<string>();
    for (const [key, value] of Object.entries(ref)) {
      if (typeof value === "object" && value) {
        walk(value as Record<string, unknown>, got?.[key] as Record<string, unknown> | undefined, `${prefix}${key}.`);
        continue;
      }
      const plural = /^(.*)_(zero|one|two|few|many|other)$/.exec(key);
      if (!plural) {
        if (typeof got?.[key] !== "string") missing.push(`${prefix}${key}`);
      } else if (!seenPlural.has(plural[1]!)) {
        seenPlural.add(plural[1]!);
        for (const form of pluralForms(lang)) if (typeof got?.[`${plural[1]}_${form}`] !== "string") missing.push(`${prefix}${plural[1]}_${form}`);
      }
    }
  };
  walk(reference as Record<string, unknown>, messages as Record<string, unknown>, "");
  return missing;
}

/** Languages whose catalogue claims to be complete but is not, with the keys they lack. */
export function incompleteCatalogues(): Array<{ lang: string; missing: string[] }> {
  return Object.entries(CATALOGUES)
    .filter(([lang, c]) => lang !== "en" && c.complete)
    .map(([lang, c]) => ({ lang, missing: missingKeys(lang, c.messages) }))
    .filter((r) => r.missing.length);
}

export interface LintReport {
  problems: LintProblem[];
  /** Translations found and checked, "zh-CN/dnat". */
  translations: string[];
}

/** Every lesson, every translation in labs/<lang>/ and every catalogue: what `lvs-lab lint` reports. */
export async function lintAll(dir?: string): Promise<LintReport> {
  const { existsSync } = await import("node:fs");
  const { readdir, readFile } = await import("node:fs/promises");
  const { join, relative } = await import("node:path");
  const { FileError } = await import("../errors.js");
  const { labsDir, listLabIds, loadLessonFile } = await import("./load.js");
  const { applyTranslation, parseTranslation } = await import("./markdown-lesson.js");
  const { hintProblems, lintLessons, predictionLeaks } = await import("./lesson-lint.js");
  const { GLOSSARY_FILE, glossaryProblemsInCatalogue, glossaryProblemsInLesson, parseGlossary } = await import("./glossary-lint.js");
  const labs = dir ?? labsDir;
  const problems: LintProblem[] = [];
  const asProblem = (e: unknown, file: string) => {
    if (e instanceof FileError) problems.push({ file: e.file, line: e.line ?? 1, message: e.problem });
    else problems.push({ file, line: 1, message: e instanceof Error ? e.message : String(e) });
  };
  const originals = new Map<string, Lesson>();
  for (const id of await listLabIds(labs)) {
    const file = join(labs, `${id}.md`);
    await loadLessonFile(file).then((l) => originals.set(id, l.lesson), (e: unknown) => asProblem(e, file));
  }
  problems.push(...lintLessons([...originals.values()]));
  const translations: string[] = [];
  const langs = (await readdir(labs, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const lang of langs) {
    const glossaryPath = join(labs, lang, GLOSSARY_FILE);
    const glossaryShown = relative(process.cwd(), glossaryPath) || glossaryPath;
    const glossary = existsSync(glossaryPath) ? parseGlossary(await readFile(glossaryPath, "utf8")) : [];
    const catalogue = CATALOGUES[lang];
    if (glossary.length && catalogue) problems.push(...glossaryProblemsInCatalogue(glossary, catalogue.messages, `src/i18n/${lang}.ts`, glossaryShown));
    // The lessons as a reader of this language meets them, at the translation's file and lines.
    const translated: Lesson[] = [];
    for (const id of await listLabIds(join(labs, lang))) {
      const file = join(labs, lang, `${id}.md`);
      const shown = relative(process.cwd(), file) || file;
      const original = originals.get(id);
      if (!original) {
        if (!existsSync(join(labs, `${id}.md`))) problems.push({ file: shown, line: 1, message: `there is no lab "${id}" to translate` });
        continue;
      }
      try {
        const text = await readFile(file, "utf8");
        const translation = parseTranslation(text, shown);
        problems.push(...lintTranslation(original, translation), ...glossaryProblemsInLesson(glossary, text, shown, glossaryShown));
        for (const step of translation.steps) {
          const o = original.steps.find((s) => s.id === step.id);
          if (o) for (const message of hintProblems(o, step.hints)) problems.push({ file: shown, line: step.line, message });
        }
        const lines = new Map(translation.steps.map((s) => [s.id, s.line]));
        const lesson = applyTranslation(original, translation);
        translated.push({ ...lesson, file: shown, steps: lesson.steps.map((s) => ({ ...s, line: lines.get(s.id) ?? s.line })) });
        translations.push(`${lang}/${id}`);
      } catch (e) {
        asProblem(e, shown);
      }
    }
    // A glossary term is one word however the segmenter would cut it; the abbreviation in brackets is not part of it.
    problems.push(...predictionLeaks(translated, lang, glossary.map((g) => g.written.replace(/（.*?）/g, "")).filter(Boolean)));
  }
  for (const { lang, missing } of incompleteCatalogues()) {
    problems.push({ file: `src/i18n/${lang}.ts`, line: 1, message: `the catalogue claims to be complete but lacks ${missing.length} keys: ${missing.join(", ")}` });
  }
  return { problems, translations };
}
