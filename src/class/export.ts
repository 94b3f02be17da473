/**
 * The class as CSV for a spreadsheet or a grader: one row per learner and lab. Every
 * field is quoted, and a learner-provided field that a spreadsheet would run as a formula
 * (=, +, -, @) is defused with a leading apostrophe.
 */
import type { ClassView } from "./aggregate.js";

function field(value: string | number | boolean): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export const CSV_COLUMNS = [
  "learner",
  "lab",
  "instance",
  "current_step",
  "finished",
  "passed",
  "solved_with_help",
  "hints",
  "on_step_seconds",
  "stuck",
  "regressed_steps",
  "failing",
  "left",
] as const;

/** Columns step_1 … step_N follow, each passed | helped | failed | (empty). */
export function exportCsv(view: ClassView): string {
  const stepCount = Math.max(0, ...view.labs.map((g) => g.steps.length));
  const header = [...CSV_COLUMNS, ...Array.from({ length: stepCount }, (_, i) => `step_${i + 1}`)];
  const lines = [header.map(field).join(",")];
  for (const grid of view.labs) {
    for (const r of grid.rows) {
      const values = [
        r.name,
        grid.id,
        r.instance,
        r.current,
        r.finished,
        r.cells.filter((c) => c === "passed" || c === "helped").length,
        r.cells.filter((c) => c === "helped").length,
        r.hints,
        r.onStepSeconds,
        r.stuck,
        r.regressed.join(" "),
        r.failing.join("; "),
        r.left,
        ...Array.from({ length: stepCount }, (_, i) => (r.cells[i] && r.cells[i] !== "todo" ? r.cells[i]! : "")),
      ];
      lines.push(values.map(field).join(","));
    }
  }
  return lines.join("\r\n") + "\r\n";
}
