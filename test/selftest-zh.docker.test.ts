/**
 * The dnat lab in Chinese, proved as the English one is: selftest --lang zh-CN on the host
 * engine. Every mistake fails with the words its lesson names (matched in English) and a
 * verdict the learner reads in Chinese.
 */
import { describe, expect, it } from "vitest";
import { json } from "./helpers/cli.js";

interface Proof {
  ok: boolean;
  proofs: Array<{ lab: string; ok: boolean; steps: Array<{ step: number; cases: Array<{ kind: string; name: string; ok: boolean; messages: string[] }> }> }>;
}

describe("selftest --lang zh-CN", () => {
  it("proves the dnat lab in Chinese, failing verdicts in Chinese", async () => {
    const report = await json<Proof>(["selftest", "dnat", "--lang", "zh-CN"]);
    expect(report.ok).toBe(true);
    const mistakes = report.proofs[0]!.steps.flatMap((s) => s.cases.filter((c) => c.kind === "mistake"));
    expect(mistakes.map((m) => m.name)).toEqual(["on-the-real-server", "inside-interface", "output-chain", "copied-en-dashes", "backup-default-route", "masquerade-instead"]);
    for (const m of mistakes) {
      expect(m.ok, m.name).toBe(true);
      expect(m.messages[0], m.name).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(mistakes[1]!.messages[0]).toMatch(/它们从 \S+ 进入，不是 \S+/);
  }, 300_000);
});
