/**
 * The watch screen as lines of styled text, pure: the grid (learners × steps, time on
 * step, hints, flags) and one learner's latest verdicts with their hops. Every string that
 * came from a learner's machine goes through cleanText: it cannot move the cursor.
 */
import type { Cell, ClassView, GridRow } from "../aggregate.js";
import type { LearnerDetail } from "../ledger.js";
import { cleanText } from "../protocol.js";
import type { Line, Seg } from "../../ui/markdown.js";

export const CELL_MARK: Record<Cell, string> = { passed: "✔", helped: "✚", failed: "✘", todo: "·" };
const CELL_COLOUR: Record<Cell, string | undefined> = { passed: "green", helped: "blue", failed: "red", todo: undefined };

/** Pads or cuts to exactly `width` columns (with … when cut). */
export function fit(text: string, width: number): string {
  if (width <= 0) return "";
  const chars = [...text];
  return chars.length <= width ? text + " ".repeat(width - chars.length) : chars.slice(0, Math.max(0, width - 1)).join("") + "…";
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function flags(r: GridRow): Seg[] {
  const out: Seg[] = [];
  if (r.stuck) out.push({ text: `STUCK ${duration(r.stuckSeconds ?? 0)} `, bold: true, color: "yellow" });
  if (r.regressed.length) out.push({ text: `REGRESSED ${r.regressed.join(",")} `, bold: true, color: "red" });
  if (r.offer) out.push({ text: `OFFERED→${r.offer} `, color: "blue" });
  if (r.left) out.push({ text: "LEFT ", dim: true });
  else if (!r.online) out.push({ text: "offline ", dim: true });
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
  if (!view.labs.length) lines.push({ segs: [{ text: view.learners ? "Nobody has started a lab yet." : "No learner has joined yet.", dim: true }] });
  for (const g of view.labs) {
    lines.push({ segs: [{ text: fit(`${cleanText(g.title)} · the class is on step ${g.classStep} of ${g.steps.length}`, width), bold: true }] });
    const stepsHead = g.steps.map((s) => String(s.number % 10)).join(" ");
    lines.push({ segs: [{ text: fit(`  ${fit("learner", NAME_WIDTH)} ${stepsHead}  step  on step  hints flags`, width), dim: true }] });
    for (const r of g.rows) {
      const mine = r.learner === selected;
      if (mine) selectedAt = lines.length;
      const segs: Seg[] = [{ text: mine ? "▶ " : "  ", bold: mine }, { text: fit(cleanText(r.name), NAME_WIDTH) + " ", bold: mine, dim: !r.online }];
      r.cells.forEach((c, i) => segs.push({ text: CELL_MARK[c] + (i < r.cells.length - 1 ? " " : ""), color: CELL_COLOUR[c], bold: i + 1 === r.current && !r.finished }));
      segs.push({ text: `  ${fit(r.finished ? "done" : `${r.current}/${g.steps.length}`, 5)} ${fit(r.finished ? "" : duration(r.onStepSeconds), 8)} ${fit(String(r.hints), 5)} ` });
      segs.push(...flags(r));
      lines.push({ segs: fitLine(segs, width) });
    }
    lines.push({ segs: [] });
  }
  if (view.waiting.length) lines.push({ segs: [{ text: fit(`Joined, no lab yet: ${view.waiting.map((w) => cleanText(w.name)).join(", ")}`, width), dim: true }] });
  return { lines, selectedAt };
}

/** Cuts styled segments to a width. */
export function fitLine(segs: Seg[], width: number): Seg[] {
  const out: Seg[] = [];
  let used = 0;
  for (const seg of segs) {
    const chars = [...seg.text];
    if (used + chars.length <= width) {
      out.push(seg);
      used += chars.length;
      continue;
    }
    const room = width - used;
    if (room > 0) out.push({ ...seg, text: chars.slice(0, Math.max(0, room - 1)).join("") + "…" });
    break;
  }
  return out;
}

/** Words wrapped to a width, each line after the first indented like the first. */
export function wrap(text: string, width: number, indent: string): string[] {
  const room = Math.max(10, width - indent.length);
  const out: string[] = [];
  let line = "";
  for (const word of cleanText(text).split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      out.push(indent + line);
      line = "";
    }
    line = line ? `${line} ${word}` : word.length > room ? word.slice(0, room - 1) + "…" : word;
  }
  if (line) out.push(indent + line);
  return out;
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

export function detailLines(d: LearnerDetail, width: number): Line[] {
  const lines: Line[] = [];
  const title = d.step && d.lab ? `${cleanText(d.name)} · ${d.lab.id} step ${d.step.number}/${d.lab.steps}: ${cleanText(d.step.title)}` : `${cleanText(d.name)} · no lab yet`;
  lines.push({ segs: [{ text: fit(title, width), bold: true }] });
  if (d.row) {
    const facts = [d.row.finished ? "finished" : `on this step ${duration(d.row.onStepSeconds)}`, `hints ${d.row.hints}`, d.checkedAt ? `checked ${clock(d.checkedAt)}` : "not checked yet"];
    lines.push({ segs: [{ text: fit(facts.join(" · "), width), dim: true }, ...flags(d.row)] });
  }
  lines.push({ segs: [] });
  if (!d.probes.length) lines.push({ segs: [{ text: "No check of this step yet.", dim: true }] });
  const failing = d.probes.filter((p) => !p.ok && !p.observation);
  for (const p of failing.length ? failing : d.probes) {
    const mark = p.observation ? "·" : p.ok ? "✔" : "✘";
    lines.push({ segs: fitLine([{ text: `${mark} `, color: p.ok ? "green" : "red" }, { text: cleanText(p.description ?? p.kind), bold: true }], width) });
    for (const l of wrap(p.message, width, "    ")) lines.push({ segs: [{ text: l }] });
    if (p.path?.length) {
      lines.push({ segs: [{ text: "    where the packets went:", dim: true }] });
      const nodeWidth = Math.min(12, Math.max(...p.path.map((h) => [...cleanText(h.node)].length)));
      for (const h of p.path) {
        const head = `      ${fit(cleanText(h.node), nodeWidth)}  `;
        const [first, ...rest] = wrap(h.what, width, " ".repeat(head.length));
        lines.push({ segs: [{ text: head, bold: true }, { text: (first ?? "").trimStart() }] });
        for (const l of rest) lines.push({ segs: [{ text: l }] });
      }
    }
  }
  if (failing.length && failing.length < d.probes.length) lines.push({ segs: [{ text: `(${d.probes.length - failing.length} more probes pass)`, dim: true }] });
  return lines;
}
