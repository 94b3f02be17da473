/**
 * Every sentence a learner reads comes from the catalogue (src/i18n, en + zh-CN): a string
 * literal with words in it is refused where lvs-lab speaks to its user — the message and the
 * hint of a UserError, a progress line, the text of an ink component. Checked on the syntax
 * tree, as cli-imports.test.ts checks the import graph.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../src/", import.meta.url));
/** Words in any script; a literal of only punctuation and ${…} (": ", "\n") says nothing to translate. */
const WORDS = /[\p{L}]{2,}/u;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "i18n" ? [] : sources(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** The literal parts of a string or template literal (not what its ${…} put in). */
function literalText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(" ");
  return undefined;
}

/** "file:line: what" for each literal sentence in a user-facing place. */
function literals(file: string, text = readFileSync(file, "utf8")): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const where = (node: ts.Node) => `${relative(src, file)}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
  const refuse = (node: ts.Node | undefined, what: string) => {
    const words = node && literalText(node);
    if (words !== undefined && WORDS.test(words)) found.push(`${where(node!)}: ${what} ${JSON.stringify(node!.getText(sf).slice(0, 60))}`);
  };
  const visit = (node: ts.Node) => {
    if (ts.isNewExpression(node) && node.expression.getText(sf) === "UserError") {
      refuse(node.arguments?.[0], "UserError message");
      refuse(node.arguments?.[1], "UserError hint");
    }
    if (ts.isCallExpression(node) && node.expression.getText(sf) === "progressLine") refuse(node.arguments[0], "progress line");
    if (ts.isJsxText(node) && WORDS.test(node.text)) found.push(`${where(node)}: UI text ${JSON.stringify(node.text.trim().slice(0, 60))}`);
    if (ts.isJsxExpression(node) && node.expression && ts.isJsxElement(node.parent)) refuse(node.expression, "UI text");
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe("the catalogue holds every sentence", () => {
  const byFile = new Map(sources(src).map((f) => [relative(src, f), literals(f)] as const));

  it("refuses literal sentences in UserError, progress lines and UI text", () => {
    expect([...byFile.values()].flat()).toEqual([]);
  });

  it("finds each kind of literal sentence, and lets catalogue calls and bare punctuation pass", () => {
    const code = [
      'throw new UserError("No lab here.", `Run ${x} again.`);',
      'throw new UserError(t("errors.noLab", { id }), t("errors.noLabHint"));',
      'progressLine("image built");',
      'progressLine(`${e.phase}: ${e.line}`);',
      "const v = <Text>Hello there</Text>;",
      "const w = <Text>{t(\"ui.pane.checking\")} · {\"done\"}</Text>;",
    ].join("\n");
    expect(literals(join(src, "example.tsx"), code)).toEqual([
      'example.tsx:1: UserError message "\\"No lab here.\\""',
      'example.tsx:1: UserError hint "`Run ${x} again.`"',
      'example.tsx:3: progress line "\\"image built\\""',
      'example.tsx:5: UI text "Hello there"',
      'example.tsx:6: UI text "\\"done\\""',
    ]);
  });
});
