/** The translation lint: a translation that no longer matches its original is refused, with file:line. */
import { describe, expect, it } from "vitest";
import { loadLab } from "../src/lesson/load.js";
import { parseLesson, parseTranslation } from "../src/lesson/markdown-lesson.js";
import { formatProblem, lintAll, lintTranslation, missingKeys } from "../src/lesson/translation-lint.js";

const original = parseLesson(
  `---
id: demo
title: Demo
summary: A demo.
topology: dnat
level: beginner
---

Intro about {{director.ext}}.

## Turn on forwarding

Prose on {{director.int.iface}}.

\`\`\`check
- kind: sysctl
  node: director
  key: net.ipv4.ip_forward
  value: 1
\`\`\`

\`\`\`hint
First hint.
\`\`\`

\`\`\`hint
Second hint.
\`\`\`

\`\`\`predict
question: What does {{client.ext}} see?
choices: [one, two, three]
answer: 2
reveal: Two.
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
`,
  "labs/demo.md",
);

const good = `---
id: demo
title: 演示
---

介绍 {{director.ext}}。

## 打开转发 {#turn-on-forwarding}

{{director.int.iface}} 上的说明。

\`\`\`hint
提示一
\`\`\`

\`\`\`hint
提示二
\`\`\`

\`\`\`predict
question: "{{client.ext}} 看到什么？"
choices: [一, 二, 三]
answer: 2
reveal: 二。
\`\`\`

## 第二步 {#second}

说明。
`;

const lint = (text: string) => lintTranslation(original, parseTranslation(text, "labs/zh-CN/demo.md")).map(formatProblem);

describe("translation lint", () => {
  it("accepts a translation that matches its original", () => {
    expect(lint(good)).toEqual([]);
  });

  it("refuses a hint more or less, with the line of the step", () => {
    expect(lint(good.replace("```hint\n提示二\n```\n", ""))).toEqual([
      'labs/zh-CN/demo.md:8: step "turn-on-forwarding" has 1 hints, the original (labs/demo.md:11) has 2',
    ]);
  });

  it("refuses a prediction with other choices, another answer, or none", () => {
    expect(lint(good.replace("choices: [一, 二, 三]", "choices: [一, 二]"))).toEqual([
      'labs/zh-CN/demo.md:8: the prediction of step "turn-on-forwarding" has 2 choices, the original has 3',
    ]);
    expect(lint(good.replace("answer: 2", "answer: 1"))).toEqual(['labs/zh-CN/demo.md:8: the prediction of step "turn-on-forwarding" gives answer 1, the original 2']);
    expect(lint(good.replace(/```predict[\s\S]*?```\n/, ""))).toEqual([
      'labs/zh-CN/demo.md:8: step "turn-on-forwarding" lacks the original\'s prediction (labs/demo.md:11)',
      'labs/zh-CN/demo.md:8: step "turn-on-forwarding" leaves out {{client.ext}}, which the original uses',
    ]);
  });

  it("refuses a variable the original does not use, and one it leaves out", () => {
    expect(lint(good.replace("{{director.int.iface}} 上", "{{director.int.ifce}} 上"))).toEqual([
      'labs/zh-CN/demo.md:8: step "turn-on-forwarding" uses {{director.int.ifce}}, which the original does not',
      'labs/zh-CN/demo.md:8: step "turn-on-forwarding" leaves out {{director.int.iface}}, which the original uses',
    ]);
    expect(lint(good.replace("介绍 {{director.ext}}", "介绍"))).toEqual(["labs/zh-CN/demo.md:1: the introduction leaves out {{director.ext}}, which the original uses"]);
  });

  it("refuses a missing step, an unknown one, and another order", () => {
    expect(lint(good.replace(/## 第二步[\s\S]*$/, ""))).toEqual(['labs/zh-CN/demo.md:8: step "second" (labs/demo.md:41) is not translated']);
    expect(lint(good.replace("{#second}", "{#third}"))).toEqual([
      'labs/zh-CN/demo.md:27: there is no step "third" in labs/demo.md',
      'labs/zh-CN/demo.md:27: step "second" (labs/demo.md:41) is not translated',
    ]);
  });

  it("reports the message keys a catalogue lacks, in the plural forms of its language", () => {
    const reference = { a: { b: "B", hint_one: "{{count}} hint", hint_other: "{{count}} hints" }, c: "C" };
    expect(missingKeys("zh-CN", { a: { b: "乙", hint_other: "{{count}} 条" } } as never, reference)).toEqual(["c"]);
    expect(missingKeys("zh-CN", { a: {}, c: "丙" } as never, reference)).toEqual(["a.b", "a.hint_other"]);
    expect(missingKeys("en", { a: { b: "B", hint_other: "x" }, c: "C" } as never, reference)).toEqual(["a.hint_one"]);
  });

  it("lays check-texts over the probes' words and refuses ones that do not fit", async () => {
    const zh = await loadLab("dnat", { lang: "zh-CN" });
    const en = await loadLab("dnat", { lang: "en" });
    const original = en.lesson.steps[0]!.checks[0]!;
    expect(zh.lesson.steps[0]!.checks[0]).toEqual({
      ...original,
      explain: "不打开转发，调度器会丢弃每一个发往别的主机的数据包。",
      originalTexts: { title: undefined, explain: original.explain, message: undefined },
    });
    expect(zh.lesson.steps.map((s) => s.checks.length)).toEqual(en.lesson.steps.map((s) => s.checks.length));
    const withTexts = good.replace("## 第二步 {#second}\n", "## 第二步 {#second}\n\n```check-texts\n- explain: 说明\n```\n");
    expect(lint(withTexts)).toEqual(['labs/zh-CN/demo.md:27: step "second" has check-texts, but its probes have no title, explain or message']);
  });

  it("finds no problem in the labs, translations and catalogues of the project", async () => {
    const report = await lintAll();
    expect(report.problems.map(formatProblem)).toEqual([]);
    expect(report.translations).toEqual(expect.arrayContaining(["zh-CN/dnat", "zh-CN/dr", "zh-CN/nat", "zh-CN/schedulers", "zh-CN/tun"]));
  });
});
