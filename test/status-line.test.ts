/** The status line at 80 columns: a notice is not cut to make room for the last check's time. */
import { describe, expect, it } from "vitest";
import { statusLine } from "../src/ui/screen.js";

const text = (line: ReturnType<typeof statusLine>) => line.segs.map((s) => s.text).join("");
const last = { step: 0, results: [], at: Date.UTC(2024, 0, 1, 10, 0, 0), ms: 12_600 };

describe("status line", () => {
  it("shows the last check beside a notice that fits", () => {
    expect(text(statusLine({ checking: false, last, notice: "Hint 1 of 3 is in the lesson pane." }, 80))).toMatch(
      /^· idle · last check \d\d:\d\d:\d\d \(12\.6 s\)  Hint 1 of 3 is in the lesson pane\.$/,
    );
  });

  it("drops the last check's time where the notice would be cut", () => {
    const notice = "Prediction 1 kept. Measure now: the step's pass shows the answer.";
    expect(text(statusLine({ checking: true, last, notice }, 80))).toBe(`⟳ checking…  ${notice}`);
  });

  it("keeps the last check when there is no notice", () => {
    expect(text(statusLine({ checking: true, last }, 80))).toMatch(/^⟳ checking… · last check \d\d:\d\d:\d\d \(12\.6 s\)$/);
  });
});
