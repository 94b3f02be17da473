/**
 * A language's glossary (labs/<lang>/GLOSSARY.md): one table of terms that the lessons of
 * that language and its message catalogue both follow. A row gives the term, the words to
 * write, and the renderings not to write; a term written with an abbreviation in full-width
 * brackets, 真实服务器（RS）, carries it at its first use in a lesson's text.
 */
import MarkdownIt from "markdown-it";
import type { LintProblem } from "./translation-lint.js";

export const GLOSSARY_FILE = "GLOSSARY.md";

export interface GlossaryTerm {
  english: string;
  /** How the term is written, "真实服务器（RS）". */
  written: string;
  /** Renderings the lessons and the catalogue must not use. */
  avoid: string[];
}

const md = new MarkdownIt();

/** The rows of the glossary's table: English | written | not written | note. */
export function parseGlossary(text: string): GlossaryTerm[] {
  const tokens = md.parse(text, {});
  const rows: string[][] = [];
  let row: string[] | undefined;
  for (const t of tokens) {
    if (t.type === "tr_open") row = [];
    else if (t.type === "tr_close" && row) {
      rows.push(row);
      row = undefined;
    } else if (t.type === "inline" && row) row.push(t.content.trim());
  }
  return rows.slice(1).map(([english = "", written = "", avoid = ""]) => ({
    english,
    written,
    avoid: avoid.split("、").map((a) => a.trim()).filter(Boolean),
  }));
}

/** "真实服务器" and "（RS）" for a term written with its abbreviation at first use. */
function withAbbreviation(written: string): { base: string; abbreviation: string } | undefined {
  const m = /^(.+?)(（[A-Za-z]+）)$/.exec(written);
  return m ? { base: m[1]!, abbreviation: m[2]! } : undefined;
}

const lineOf = (text: string, index: number) => text.slice(0, index).split("\n").length;

/** Problems in one lesson translation: renderings to avoid, and a first use without its abbreviation. */
export function glossaryProblemsInLesson(terms: GlossaryTerm[], text: string, file: string, glossaryFile: string): LintProblem[] {
  const problems: LintProblem[] = [];
  const bodyStart = /^---\r?\n[\s\S]*?\r?\n---\r?\n/.exec(text)?.[0].length ?? 0;
  for (const term of terms) {
    for (const avoid of term.avoid) {
      for (let i = text.indexOf(avoid); i >= 0; i = text.indexOf(avoid, i + avoid.length)) {
        problems.push({ file, line: lineOf(text, i), message: `"${avoid}": ${glossaryFile} writes "${term.written}" (${term.english})` });
      }
    }
    const abbreviated = withAbbreviation(term.written);
    if (!abbreviated) continue;
    const first = text.indexOf(abbreviated.base, bodyStart);
    if (first >= 0 && !text.startsWith(abbreviated.abbreviation, first + abbreviated.base.length)) {
      problems.push({ file, line: lineOf(text, first), message: `the first "${abbreviated.base}" of the lesson is written "${term.written}" (${glossaryFile})` });
    }
  }
  return problems;
}

/** Every string of a message catalogue, with its key path. */
function catalogueStrings(messages: object, prefix = ""): Array<{ key: string; text: string }> {
  return Object.entries(messages).flatMap(([k, v]) =>
    typeof v === "string" ? [{ key: `${prefix}${k}`, text: v }] : typeof v === "object" && v ? catalogueStrings(v as object, `${prefix}${k}.`) : [],
  );
}

/** Problems in a message catalogue: renderings the glossary says not to write. */
export function glossaryProblemsInCatalogue(terms: GlossaryTerm[], messages: object, file: string, glossaryFile: string): LintProblem[] {
  return catalogueStrings(messages).flatMap(({ key, text }) =>
    terms.flatMap((term) =>
      term.avoid.filter((a) => text.includes(a)).map((a) => ({ file, line: 1, message: `message ${key}: "${a}": ${glossaryFile} writes "${term.written}" (${term.english})` })),
    ),
  );
}
