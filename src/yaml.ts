/**
 * YAML + zod with errors that point at file:line and the field, shared by topology
 * files and the check blocks inside lessons.
 */
import { isNode, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { FileError } from "./errors.js";

export interface Source {
  file: string;
  /** Line number of the text's first line inside `file` (for blocks embedded in markdown). */
  firstLine?: number;
}

export function parseYaml<S extends z.ZodTypeAny>(text: string, source: Source, schema: S): z.output<S> {
  const offset = (source.firstLine ?? 1) - 1;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? lines.linePos(yamlError.pos[0]).line;
    throw new FileError(source.file, line + offset, `invalid YAML: ${firstSentence(yamlError.message)}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // toJS throws plain errors for unresolved or exploding aliases.
    throw new FileError(source.file, offset + 1, `invalid YAML: ${firstSentence((e as Error).message)}`);
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const line = lineOf(doc, lines, issue.path);
  const field = issue.path.length ? issue.path.join(".") : "(top level)";
  throw new FileError(source.file, line === undefined ? undefined : line + offset, `${field}: ${issue.message}`);
}

/** Line of the deepest existing node on `path` (a missing key points at its parent). */
function lineOf(doc: Document, lines: LineCounter, path: (string | number)[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function firstSentence(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}
