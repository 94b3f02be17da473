/**
 * `check --json` for graders: one zod definition (src/cli/check-report.ts), the JSON schema
 * shipped in schema/ generated from it, and the report's meaning (`step` is the step that
 * holds the learner back). Real output is validated in test/hints.docker.test.ts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkReport, checkReportJsonSchema, holdingStep, type CheckReport, type StepReport } from "../src/cli/check-report.js";

const probe = (ok: boolean, observe = false) => ({ kind: "sysctl", node: "director", description: "ip_forward on director is 1", observe, ok, message: ok ? "it is 1" : "it is 0" });
const step = (number: number, passed: boolean): StepReport => ({ number, id: `s${number}`, title: `Step ${number}`, passed, probes: [probe(passed), probe(false, true)] });

describe("check --json", () => {
  it("the shipped schema is the one the zod definition gives (npm run schema writes it)", () => {
    const shipped = JSON.parse(readFileSync(new URL("../schema/check-report.schema.json", import.meta.url), "utf8"));
    expect(shipped).toEqual(checkReportJsonSchema());
  });

  it("step: the first step checked that did not pass, else the last one checked", () => {
    expect(holdingStep([step(1, true), step(2, true), step(3, false)]).number).toBe(3);
    expect(holdingStep([step(1, false), step(2, false)]).number).toBe(1);
    expect(holdingStep([step(1, true), step(2, true)]).number).toBe(2);
  });

  it("the README's example of a lab configured ahead is a valid report", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const example = /<!-- check-report-example -->\n```json\n([\s\S]*?)\n```/.exec(readme);
    expect(example, "README has the example").not.toBeNull();
    const report: CheckReport = checkReport.parse(JSON.parse(example![1]!));
    expect(report.step.number).toBe(holdingStep(report.steps).number);
  });

  it("refuses what a grader could misread: a probe without observe, a field not in the definition", () => {
    const good = { instance: "web", lab: "dnat", step: { number: 1, id: "s1", title: "Step 1", of: 3 }, passed: false, probes: step(1, false).probes, steps: [step(1, false)], finished: false, current: 1, seconds: 0.4 };
    expect(checkReport.safeParse(good).success).toBe(true);
    const { observe: _dropped, ...withoutObserve } = probe(false);
    expect(checkReport.safeParse({ ...good, probes: [withoutObserve] }).success).toBe(false);
    expect(checkReport.safeParse({ ...good, extra: 1 }).success).toBe(false);
  });
});
