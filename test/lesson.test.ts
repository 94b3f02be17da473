import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FileError } from "../src/errors.js";
import { loadAllLabs, pickLanguage, validateAgainstTopology } from "../src/lesson/load.js";
import { applyTranslation, parseLesson, parseTranslation } from "../src/lesson/markdown-lesson.js";
import { loadTopology } from "../src/topology/load.js";

const lesson = `---
id: demo
title: Demo
summary: A demo.
topology: dnat
level: beginner
---

Intro text about {{director.ext}}.

## Turn on forwarding

Prose.

\`\`\`check
- kind: sysctl
  node: director
  key: net.ipv4.ip_forward
  value: 1
  hint: 1
\`\`\`

\`\`\`hint
First hint.
\`\`\`

\`\`\`hint
Second hint.
\`\`\`

\`\`\`solution director
echo 1 > /proc/sys/net/ipv4/ip_forward
\`\`\`

## Second step {#second}

\`\`\`check
- kind: route
  node: rs1
  to: default
  via: "{{director.int}}"
\`\`\`

\`\`\`solution rs1
ip route replace default via {{director.int}}
\`\`\`
`;

function errorOf(text: string, validate = false): string {
  try {
    const parsed = parseLesson(text, "labs/demo.md");
    if (validate) return loadTopology("dnat").then((t) => validateAgainstTopology(parsed, t)) as never;
  } catch (e) {
    expect(e).toBeInstanceOf(FileError);
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

async function validationError(text: string): Promise<string> {
  const parsed = parseLesson(text, "labs/demo.md");
  try {
    validateAgainstTopology(parsed, await loadTopology("dnat"));
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("lesson format", () => {
  it("splits steps, checks, hints and solutions", () => {
    const l = parseLesson(lesson, "labs/demo.md");
    expect(l.meta).toMatchObject({ id: "demo", topology: "dnat", requirements: [] });
    expect(l.intro).toBe("Intro text about {{director.ext}}.");
    expect(l.steps.map((s) => s.id)).toEqual(["turn-on-forwarding", "second"]);
    expect(l.steps[0]).toMatchObject({ title: "Turn on forwarding", prose: "Prose.", hints: ["First hint.", "Second hint."], line: 11 });
    expect(l.steps[0]!.solutions).toEqual([{ node: "director", commands: "echo 1 > /proc/sys/net/ipv4/ip_forward", line: 31 }]);
    expect(l.steps[0]!.checks).toMatchObject([{ kind: "sysctl", node: "director", key: "net.ipv4.ip_forward", hint: 1, observe: false }]);
    expect(l.steps[0]).toMatchObject({ variants: [], mistakes: [] });
  });

  const withCases = lesson.replace(
    "```solution rs1\n",
    [
      "```variant specific-route rs1",
      "ip route add {{client.ext}} via {{director.int}}",
      "```",
      "",
      "```variant old-tools rs1",
      "route del default",
      "```",
      "",
      "```variant old-tools rs1",
      "route add default gw {{director.int}}",
      "```",
      "",
      "```mistake backup-route rs1",
      "#| says: not via {{director.int}} (director)",
      "#| says: metric 500",
      "ip route append default via {{director.int}} metric 500",
      "```",
      "",
      "```predict",
      "question: Where does rs1 send its replies?",
      'choices: ["to Docker\'s gateway", "to the director", "straight to the client"]',
      "answer: 1",
      "reveal: Docker's gateway, by the default route.",
      "```",
      "",
      "```solution rs1\n",
    ].join("\n"),
  );

  it("reads variants, mistakes with their words, and predictions", () => {
    const step = parseLesson(withCases, "labs/demo.md").steps[1]!;
    expect(step.variants.map((v) => [v.name, v.blocks.map((b) => b.commands)])).toEqual([
      ["specific-route", ["ip route add {{client.ext}} via {{director.int}}"]],
      ["old-tools", ["route del default", "route add default gw {{director.int}}"]],
    ]);
    expect(step.mistakes).toMatchObject([
      { name: "backup-route", says: ["not via {{director.int}} (director)", "metric 500"], blocks: [{ nodes: ["rs1"], commands: "ip route append default via {{director.int}} metric 500" }] },
    ]);
    expect(step.predict).toEqual({ question: "Where does rs1 send its replies?", choices: ["to Docker's gateway", "to the director", "straight to the client"], answer: 1, reveal: "Docker's gateway, by the default route." });
    expect(step.prose).not.toContain("metric 500");
  });

  it("refuses a mistake without words, a variant with words, a prediction without its answer, a step of observations only", async () => {
    expect(errorOf(withCases.replace("#| says: not via {{director.int}} (director)\n#| says: metric 500\n", ""))).toBe(
      'labs/demo.md:56: mistake "backup-route" needs a "#| says: …" line: the words its failing verdict must contain',
    );
    expect(errorOf(withCases.replace("route del default", "#| says: nothing\nroute del default"))).toBe('labs/demo.md:48: "#| says:" belongs to mistakes; variant "old-tools" must pass');
    expect(errorOf(withCases.replace("```mistake backup-route rs1", "```mistake backup-route"))).toBe('labs/demo.md:56: a mistake block has a name and its nodes: "```mistake eth-only rs1 rs2"');
    expect(errorOf(withCases.replace("answer: 1", "answer: 4"))).toBe("labs/demo.md:65: answer: must be the number of one of the choices");
    expect(errorOf(lesson.replace("  hint: 1\n", "  hint: 1\n  observe: true\n"))).toBe('labs/demo.md:11: step "Turn on forwarding" has only observations; one probe at least must prove the step');
    expect(await validationError(withCases.replace("```variant specific-route rs1", "```variant specific-route rs7"))).toBe('labs/demo.md:44: "specific-route" runs on unknown node "rs7" (nodes: client, director, rs1)');
  });

  it("rejects broken lessons with file:line and the cause", () => {
    expect(errorOf(lesson.replace("kind: sysctl", "kind: sysctll"))).toBe(
      'labs/demo.md:16: 0.kind: unknown probe kind "sysctll" (known: command, sysctl, address, route, iptables, ipvs, http, neighbour, process, persistence, restart)',
    );
    expect(errorOf(lesson.replace("  key: net.ipv4.ip_forward\n", "  key: net.ipv4.ip_forward\n  oops: [\n"))).toMatch(/^labs\/demo\.md:(19|20): invalid YAML: Flow sequence/);
    expect(errorOf(lesson.replace("```solution rs1\nip route replace default via {{director.int}}\n```\n", ""))).toBe(
      'labs/demo.md:35: step "Second step" has no ```solution block',
    );
    expect(errorOf(lesson.replace("level: beginner", "level: guru"))).toMatch(/^labs\/demo\.md:6: level: Invalid enum value/);
    expect(errorOf(lesson.replace("---\nid: demo", "id: demo"))).toMatch(/^labs\/demo\.md:1: a lesson starts with front matter/);
    expect(errorOf(lesson.replace("hint: 1", "hint: 3"))).toBe('labs/demo.md:11: a probe in step "Turn on forwarding" refers to hint 3, but the step has 2');
  });

  it("rejects unknown nodes and variables against the topology", async () => {
    expect(await validationError(lesson.replace("```solution rs1", "```solution rs9"))).toBe('labs/demo.md:44: solution for unknown node "rs9" (nodes: client, director, rs1)');
    expect(await validationError(lesson.replace('via: "{{director.int}}"', 'via: "{{director.dmz}}"'))).toBe('labs/demo.md:35: a probe in step "Second step" uses unknown variable {{director.dmz}}');
  });

  it("lays a translation's prose and hints over the original by step id", () => {
    const original = parseLesson(lesson, "labs/demo.md");
    const zh = parseTranslation(
      "---\nid: demo\ntitle: 演示\n---\n\n介绍。\n\n## 打开转发 {#turn-on-forwarding}\n\n说明。\n\n```hint\n提示一\n```\n\n```hint\n提示二\n```\n",
      "labs/zh-CN/demo.md",
    );
    const merged = applyTranslation(original, zh);
    expect(merged.meta.title).toBe("演示");
    expect(merged.steps[0]).toMatchObject({ title: "打开转发", prose: "说明。", hints: ["提示一", "提示二"] });
    expect(merged.steps[0]!.checks).toEqual(original.steps[0]!.checks);
    expect(merged.steps[1]!.title).toBe("Second step");
    expect(() => parseTranslation("---\nid: demo\n---\n## 无id\n", "labs/zh-CN/demo.md")).toThrow(/names the step it translates/);
  });

  it("picks the language from --lang or the locale", () => {
    expect(pickLanguage("zh-CN")).toBe("zh-CN");
    const saved = process.env.LANG;
    process.env.LANG = "zh_CN.UTF-8";
    expect(pickLanguage()).toBe("zh-CN");
    process.env.LANG = "C.UTF-8";
    expect(pickLanguage()).toBe("en");
    process.env.LANG = saved;
  });

  it("loads every shipped lab", async () => {
    const labs = await loadAllLabs();
    const files = readdirSync(new URL("../labs", import.meta.url)).filter((f) => f.endsWith(".md"));
    expect(labs.map((l) => l.lesson.meta.id).sort()).toEqual(files.map((f) => f.replace(/\.md$/, "")).sort());
  });
});
