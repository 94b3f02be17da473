/** The zh-CN glossary: one set of terms for the lessons and the UI catalogue, checked by the lint. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CATALOGUES } from "../src/i18n/index.js";
import { glossaryProblemsInCatalogue, glossaryProblemsInLesson, parseGlossary } from "../src/lesson/glossary-lint.js";
import { listLabIds } from "../src/lesson/load.js";
import { formatProblem } from "../src/lesson/translation-lint.js";

const GLOSSARY = "labs/zh-CN/GLOSSARY.md";
const terms = parseGlossary(readFileSync(GLOSSARY, "utf8"));

describe("the zh-CN glossary", () => {
  it("is a table of terms, the words to write and the renderings not to write", () => {
    expect(terms.find((t) => t.english === "real server")).toEqual({ english: "real server", written: "真实服务器（RS）", avoid: ["实际服务器"] });
    expect(terms.find((t) => t.english === "weight")).toEqual({ english: "weight", written: "权重", avoid: ["权值"] });
    expect(terms.find((t) => t.english === "answer an ARP request")?.avoid).toEqual(["回答 ARP", "回答针对"]);
  });

  it("refuses a rendering to avoid and a first use without its abbreviation, with file:line", () => {
    const lesson = "---\nid: demo\nsummary: 两台实际服务器\n---\n\n三台真实服务器 rs1、rs2 和 rs3。\n\n实际服务器的权值是 3。\n";
    expect(glossaryProblemsInLesson(terms, lesson, "labs/zh-CN/demo.md", GLOSSARY).map(formatProblem)).toEqual([
      `labs/zh-CN/demo.md:3: "实际服务器": ${GLOSSARY} writes "真实服务器（RS）" (real server)`,
      `labs/zh-CN/demo.md:8: "实际服务器": ${GLOSSARY} writes "真实服务器（RS）" (real server)`,
      `labs/zh-CN/demo.md:6: the first "真实服务器" of the lesson is written "真实服务器（RS）" (${GLOSSARY})`,
      `labs/zh-CN/demo.md:8: "权值": ${GLOSSARY} writes "权重" (weight)`,
    ]);
    expect(glossaryProblemsInLesson(terms, "---\nid: demo\n---\n\n真实服务器（RS）rs1，真实服务器 rs2。\n", "labs/zh-CN/demo.md", GLOSSARY)).toEqual([]);
  });

  it("refuses the catalogue's old words (权值, 地址转换/NAT, 实际服务器) by message key", () => {
    const old = { probe: { ipvs: { method: { masq: "地址转换/NAT" }, weight: "{{node}}：实际服务器 {{who}} 的权值是 {{have}}" } } };
    expect(glossaryProblemsInCatalogue(terms, old, "src/i18n/zh-CN.ts", GLOSSARY).map(formatProblem)).toEqual([
      `src/i18n/zh-CN.ts:1: message probe.ipvs.method.masq: "地址转换/NAT": ${GLOSSARY} writes "地址伪装" (masquerading (\`-m\`))`,
      `src/i18n/zh-CN.ts:1: message probe.ipvs.weight: "实际服务器": ${GLOSSARY} writes "真实服务器（RS）" (real server)`,
      `src/i18n/zh-CN.ts:1: message probe.ipvs.weight: "权值": ${GLOSSARY} writes "权重" (weight)`,
    ]);
  });

  it("is followed by the shipped lessons and the zh-CN catalogue", async () => {
    const problems = (await listLabIds("labs/zh-CN")).flatMap((id) =>
      glossaryProblemsInLesson(terms, readFileSync(`labs/zh-CN/${id}.md`, "utf8"), `labs/zh-CN/${id}.md`, GLOSSARY),
    );
    expect([...problems, ...glossaryProblemsInCatalogue(terms, CATALOGUES["zh-CN"]!.messages, "src/i18n/zh-CN.ts", GLOSSARY)].map(formatProblem)).toEqual([]);
  });

  it("is not taken for a lab", async () => {
    expect(await listLabIds("labs/zh-CN")).not.toContain("GLOSSARY");
  });
});
