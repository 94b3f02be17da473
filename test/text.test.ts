import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { setLanguage } from "../src/i18n/index.js";
import { breakPieces, CLOSING, OPENING } from "../src/text/breaks.js";
import { plainText, wrapSegs } from "../src/text/lines.js";
import { probeView } from "../src/text/probe-view.js";
import { displayWidth } from "../src/text/width.js";

const zh = "调度器（director）把请求转给真实服务器（RS），按权重分配：“加权轮询”（wrr）是默认的调度算法。回包必须经过调度器，否则客户端收到的是 RS 的地址。";

describe("one set of line-break rules (kinsoku)", () => {
  it("never starts a line with closing punctuation nor ends one with opening punctuation, at any width", () => {
    // From 12 columns, the longest piece that may not break ("（director）") fits on a line.
    for (let width = 12; width <= 60; width++) {
      const lines = plainText(wrapSegs([{ text: zh }], width)).split("\n");
      expect(lines.join("").replace(/ /g, "")).toBe(zh.replace(/ /g, ""));
      for (const line of lines) {
        expect(displayWidth(line)).toBeLessThanOrEqual(width);
        expect(CLOSING).not.toContain([...line][0]);
        expect(OPENING).not.toContain([...line].at(-1));
      }
    }
  });

  it("keeps a closing mark with the character before it and an opening one with the character after it", () => {
    expect(breakPieces("机，运（默")).toEqual(["机，", "运", "（默"]);
    // 12 columns would hold "真实服务器（", but "（" may not end a line.
    expect(plainText(wrapSegs([{ text: "真实服务器（RS），权重" }], 12)).split("\n")).toEqual(["真实服务器", "（RS），权重"]);
    expect(plainText(wrapSegs([{ text: "真实服务器，权重" }], 10)).split("\n")).toEqual(["真实服务", "器，权重"]);
  });

  it("keeps every character of every Chinese lesson", () => {
    for (const file of readdirSync("labs/zh-CN").filter((f) => f.endsWith(".md"))) {
      for (const word of readFileSync(`labs/zh-CN/${file}`, "utf8").split(/\s+/).filter(Boolean)) expect(breakPieces(word).join("")).toBe(word);
    }
  });
});

describe("probeView, the one layout of a probe's result", () => {
  const failed = {
    kind: "http", description: "2 requests from client to 198.18.0.50:8001 get answers", ok: false, hint: 2,
    message: "Only 0 of 2 requests were answered; the rest: timed out.",
    path: [{ node: "client", what: "SYN to 198.18.0.50:8001 left on eth0 to director" }, { node: "backup-director", what: "SYN arrived on eth0, then went no further" }],
  };

  it("one line per part where there is no width: mark and description, message with its hint, the hops aligned", () => {
    setLanguage("en");
    expect(plainText(probeView(failed)).split("\n")).toEqual([
      "✘ 2 requests from client to 198.18.0.50:8001 get answers",
      "    Only 0 of 2 requests were answered; the rest: timed out. (hint 2)",
      "    where the packets went:",
      "      client           SYN to 198.18.0.50:8001 left on eth0 to director",
      "      backup-director  SYN arrived on eth0, then went no further",
    ]);
  });

  it("wraps each part under itself within the width, cutting long node names", () => {
    setLanguage("en");
    expect(plainText(probeView(failed, 40)).split("\n")).toEqual([
      "✘ 2 requests from client to",
      "  198.18.0.50:8001 get answers",
      "    Only 0 of 2 requests were answered;",
      "    the rest: timed out. (hint 2)",
      "    where the packets went:",
      "      client        SYN to",
      "                    198.18.0.50:8001",
      "                    left on eth0 to",
      "                    director",
      "      backup-dire…  SYN arrived on eth0,",
      "                    then went no further",
    ]);
  });

  it("marks a pass and an observation without a hint", () => {
    setLanguage("en");
    expect(plainText(probeView({ kind: "sysctl", ok: true, message: "is 1", hint: 1 }))).toBe("✔ sysctl\n    is 1");
    expect(plainText(probeView({ kind: "conntrack", ok: false, observation: true, message: "2 entries", hint: 1 }))).toBe("· conntrack\n    2 entries");
  });
});
