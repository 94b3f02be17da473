/**
 * The watch screen as lines of styled text, pure: the grid (learners × steps, time on
 * step, hints, flags) and one learner's latest verdicts with their hops. Every string that
 * came from a learner's machine goes through cleanText: it cannot move the cursor.
 */
import type { Cell, ClassView, GridRow } from "../aggregate.js";
import type { LearnerDetail } from "../ledger.js";
import { cleanText } from "../protocol.js";
import { t } from "../../i18n/index.js";
import { clock, duration } from "../../text/clock.js";
import { fitSegs, type Line, type Seg } from "../../text/lines.js";
import { fails, probeView } from "../../text/probe-view.js";
import { displayWidth, padToWidth, sliceToWidth } from "../../text/width.js";

export const CELL_MARK: Record<Cell, string> = { passed: "✔", helped: "✚", failed: "✘", todo: "·" };
const CELL_COLOUR: Record<Cell, string | undefined> = { passed: "green", helped: "blue", failed: "red", todo: undefined };

/** Pads or cuts to exactly `width` terminal columns (with … when cut): a CJK character takes two. */
export function fit(text: string, width: number): string {
  if (width <= 0) return "";
  return displayWidth(text) <= width ? padToWidth(text, width) : padToWidth(sliceToWidth(text, width - 1) + "…", width);
}

function flags(r: GridRow): Seg[] {
  const out: Seg[] = [];
  if (r.stuck) out.push({ text: `${t("classroom.grid.stuck", { duration: duration(r.stuckSeconds ?? 0) })} `, bold: true, color: "yellow" });
  if (r.regressed.length) out.push({ text: `${t("classroom.grid.regressed", { steps: r.regressed.join(",") })} `, bold: true, color: "red" });
  if (r.offer) out.push({ text: `${t("classroom.grid.offered", { step: r.offer })} `, color: "blue" });
  if (r.left) out.push({ text: `${t("classroom.grid.left")} `, dim: true });
  else if (!r.online) out.push({ text: `${t("classroom.grid.offline")} `, dim: true });
  return out;
}

const NAME_WIDTH = 16;

/** Every learner row in screen order (labs in order, learners by name): what ↑/↓ walks. */
export function rowOrder(view: ClassView): Array<{ lab: string; row: GridRow }> {
  return view.labs.flatMap((g) => g.rows.map((row) => ({ lab: g.id, row })));
}

export function gridLines(view: ClassView, selected: string | undefined, width: number): { lines: Line[]; selectedAt?: number } {
  const lines: Line[] = [];
  let selectedAt: number | undefined;
  if (!view.labs.length) lines.push({ segs: [{ text: t(view.learners ? "classroom.grid.nobodyStarted" : "classroom.grid.noLearner"), dim: true }] });
  for (const g of view.labs) {
    lines.push({ segs: [{ text: fit(t("classroom.grid.classOnStep", { title: cleanText(g.title), n: g.classStep, of: g.steps.length }), width), bold: true }] });
    const stepsHead = g.steps.map((s) => String(s.number % 10)).join(" ");
    const column = (c: "learner" | "step" | "onStep" | "hints" | "flags") => t(`classroom.grid.column.${c}`);
    const head = `  ${fit(column("learner"), NAME_WIDTH)} ${stepsHead}  ${fit(column("step"), 5)} ${fit(column("onStep"), 8)} ${fit(column("hints"), 5)} ${column("flags")}`;
    lines.push({ segs: [{ text: fit(head, width), dim: true }] });
    for (const r of g.rows) {
      const mine = r.learner === selected;
      if (mine) selectedAt = lines.length;
      const segs: Seg[] = [{ text: mine ? "▶ " : "  ", bold: mine }, { text: fit(cleanText(r.name), NAME_WIDTH) + " ", bold: mine, dim: !r.online }];
      r.cells.forEach((c, i) => segs.push({ text: CELL_MARK[c] + (i < r.cells.length - 1 ? " " : ""), color: CELL_COLOUR[c], bold: i + 1 === r.current && !r.finished }));
      segs.push({ text: `  ${fit(r.finished ? t("classroom.grid.done") : `${r.current}/${g.steps.length}`, 5)} ${fit(r.finished ? "" : duration(r.onStepSeconds), 8)} ${fit(String(r.hints), 5)} ` });
      segs.push(...flags(r));
      lines.push({ segs: fitSegs(segs, width) });
    }
    lines.push({ segs: [] });
  }
  if (view.waiting.length) lines.push({ segs: [{ text: fit(t("classroom.grid.waiting", { names: view.waiting.map((w) => cleanText(w.name)).join(t("classroom.instructor.listSeparator")) }), width), dim: true }] });
  return { lines, selectedAt };
}

export function detailLines(d: LearnerDetail, width: number): Line[] {
  const lines: Line[] = [];
  const title =
    d.step && d.lab
      ? t("classroom.watch.detailTitle", { name: cleanText(d.name), lab: d.lab.id, n: d.step.number, of: d.lab.steps, title: cleanText(d.step.title) })
      : t("classroom.watch.noLab", { name: cleanText(d.name) });
  lines.push({ segs: [{ text: fit(title, width), bold: true }] });
  if (d.row) {
    const facts = [
      d.row.finished ? t("classroom.watch.finished") : t("classroom.watch.onThisStep", { duration: duration(d.row.onStepSeconds) }),
      t("classroom.watch.hints", { count: d.row.hints }),
      d.checkedAt ? t("classroom.watch.checked", { at: clock(d.checkedAt) }) : t("classroom.watch.notChecked"),
    ];
    lines.push({ segs: [{ text: fit(facts.join(t("classroom.watch.factJoin")), width), dim: true }, ...flags(d.row)] });
  }
  lines.push({ segs: [] });
  if (!d.probes.length) lines.push({ segs: [{ text: t("classroom.watch.noCheck"), dim: true }] });
  const failing = d.probes.filter(fails);
  for (const p of failing.length ? failing : d.probes) {
    const cleaned = { ...p, description: cleanText(p.description ?? p.kind), message: cleanText(p.message), path: p.path?.map((h) => ({ node: cleanText(h.node), what: cleanText(h.what) })) };
    lines.push(...probeView(cleaned, width));
  }
  if (failing.length && failing.length < d.probes.length) lines.push({ segs: [{ text: t("classroom.watch.morePass", { count: d.probes.length - failing.length }), dim: true }] });
  return lines;
}
