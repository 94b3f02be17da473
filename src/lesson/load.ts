/**
 * The lesson catalogue: labs/*.md, each checked against its topology so that a lesson
 * naming an unknown node or {{variable}} never loads.
 */
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { FileError, UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { pickLanguage } from "../i18n/locale.js";
import { packageRoot } from "../paths.js";
import { loadTopology, topologiesDir } from "../topology/load.js";
import { resolveTopology, templateVariableNames, unknownVariables } from "../topology/resolve.js";
import type { Topology } from "../topology/schema.js";
import { applyTranslation, parseLesson, parseTranslation, type Lesson } from "./markdown-lesson.js";
import { lintTranslation } from "./translation-lint.js";

export const labsDir = join(packageRoot, "labs");

export interface LoadedLab {
  lesson: Lesson;
  topology: Topology;
}

function display(path: string): string {
  return relative(process.cwd(), path) || path;
}

/** Cross-checks a parsed lesson against its topology: nodes and variables must exist. */
export function validateAgainstTopology(lesson: Lesson, topology: Topology): void {
  const known = templateVariableNames(resolveTopology(topology, {}));
  const nodes = new Set(Object.keys(topology.nodes));
  for (const step of lesson.steps) {
    for (const s of step.solutions) {
      if (!nodes.has(s.node)) throw new FileError(lesson.file, s.line, `solution for unknown node "${s.node}" (nodes: ${[...nodes].join(", ")})`);
      const unknown = unknownVariables(s.commands, known);
      if (unknown.length) throw new FileError(lesson.file, s.line, `unknown variable {{${unknown[0]}}}`);
    }
    for (const c of [...step.variants, ...step.mistakes]) {
      for (const b of c.blocks) {
        const bad = b.nodes.find((n) => !nodes.has(n));
        if (bad) throw new FileError(lesson.file, b.line, `"${c.name}" runs on unknown node "${bad}" (nodes: ${[...nodes].join(", ")})`);
        const unknown = unknownVariables(b.commands + c.says.join("\n"), known);
        if (unknown.length) throw new FileError(lesson.file, b.line, `unknown variable {{${unknown[0]}}}`);
      }
    }
    if (step.predict) {
      const unknown = unknownVariables(JSON.stringify(step.predict), known);
      if (unknown.length) throw new FileError(lesson.file, step.line, `the prediction of step "${step.title}" uses unknown variable {{${unknown[0]}}}`);
    }
    for (const probe of step.checks) {
      const named = [probe.node, ...("director" in probe ? [probe.director] : []), ...("owner" in probe ? [probe.owner] : [])];
      const bad = named.find((n) => !nodes.has(n));
      if (bad) throw new FileError(lesson.file, step.line, `a probe in step "${step.title}" names unknown node "${bad}"`);
      const unknown = unknownVariables(JSON.stringify(probe), known);
      if (unknown.length) throw new FileError(lesson.file, step.line, `a probe in step "${step.title}" uses unknown variable {{${unknown[0]}}}`);
    }
    const unknown = unknownVariables(step.prose + step.hints.join("\n"), known);
    if (unknown.length) throw new FileError(lesson.file, step.line, `step "${step.title}" uses unknown variable {{${unknown[0]}}}`);
  }
}

export async function loadLessonFile(path: string, topologyDir = topologiesDir): Promise<LoadedLab> {
  const lesson = parseLesson(await readFile(path, "utf8"), display(path));
  const topology = await loadTopology(lesson.meta.topology, topologyDir).catch((e: unknown) => {
    if (e instanceof FileError) throw e;
    throw new FileError(lesson.file, 5, `topology "${lesson.meta.topology}" cannot be loaded: ${(e as Error).message}`);
  });
  validateAgainstTopology(lesson, topology);
  return { lesson, topology };
}

/** Lab ids are lower case ("dnat"); other Markdown files beside them (GLOSSARY.md) are not labs. */
export async function listLabIds(dir = labsDir): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^[a-z][a-z0-9-]*\.md$/.test(f)).map((f) => f.replace(/\.md$/, "")).sort();
}

export { pickLanguage };

export async function loadLab(id: string, opts: { lang?: string; dir?: string } = {}): Promise<LoadedLab> {
  const dir = opts.dir ?? labsDir;
  const ids = await listLabIds(dir);
  if (!ids.includes(id)) throw new UserError(t("errors.noLab", { id }), t("errors.noLabHint", { labs: ids.join(", ") }));
  const loaded = await loadLessonFile(join(dir, `${id}.md`));
  const lang = pickLanguage(opts.lang);
  const translated = join(dir, lang, `${id}.md`);
  if (lang !== "en" && existsSync(translated)) {
    const tr = parseTranslation(await readFile(translated, "utf8"), display(translated));
    // A translation that no longer matches its original is refused, never half applied.
    const [first, ...more] = lintTranslation(loaded.lesson, tr);
    if (first) throw new FileError(first.file, first.line, `${first.message}${more.length ? ` (and ${more.length} more problems: \`lvs-lab lint\`)` : ""}`);
    return { ...loaded, lesson: applyTranslation(loaded.lesson, tr) };
  }
  return loaded;
}

export async function loadAllLabs(dir = labsDir): Promise<LoadedLab[]> {
  const labs = await Promise.all((await listLabIds(dir)).map((id) => loadLessonFile(join(dir, `${id}.md`))));
  return labs.sort((a, b) => a.lesson.meta.order - b.lesson.meta.order || a.lesson.meta.id.localeCompare(b.lesson.meta.id));
}
