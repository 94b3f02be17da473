/**
 * One probe's result as lines, the one layout that `check`, `class watch` and the class page
 * draw: the mark and what was checked, the verdict's message (with its hint number when it
 * fails), then where the packets went, one hop a line with the node names aligned. Pure: the
 * caller cleans text that came from another machine before it gets here.
 */
import { t } from "../i18n/index.js";
import type { Hop } from "../probes/types.js";
import { wrapSegs, type Line, type Seg } from "./lines.js";
import { displayWidth, padToWidth, sliceToWidth } from "./width.js";

/** What a probe's result carries, on this machine (ProbeResult) or as a learner reported it. */
export interface ProbeOutcome {
  kind: string;
  description?: string;
  ok: boolean;
  message: string;
  observation?: boolean;
  hint?: number;
  path?: Hop[];
}

/** Passed, failed, or an observation: what the learner should see at this stage, never a verdict. */
export function probeMark(r: ProbeOutcome): Seg {
  if (r.observation) return { text: "·", dim: true };
  return r.ok ? { text: "✔", color: "green", bold: true } : { text: "✘", color: "red", bold: true };
}

/** A failing verdict's hint number (observations and passes have none to offer). */
export function fails(r: ProbeOutcome): boolean {
  return !r.ok && !r.observation;
}

const MESSAGE = "    ";
const HOP = "      ";

/** The full view of one result, wrapped to `width` columns (Infinity: one line per part). */
export function probeView(r: ProbeOutcome, width = Infinity): Line[] {
  const head = wrapSegs([probeMark(r), { text: " " }, { text: r.description ?? r.kind, bold: true }], width, [], [{ text: "  " }]);
  const hint: Seg[] = fails(r) && r.hint ? [{ text: t("cli.probeHint", { n: r.hint }), dim: true }] : [];
  const message = wrapSegs([{ text: r.message, dim: r.ok }, ...hint], width, [{ text: MESSAGE }]);
  return [...head, ...message, ...pathView(r.path ?? [], width)];
}

function pathView(path: Hop[], width: number): Line[] {
  if (!path.length) return [];
  // Long node names are cut where the screen is narrow, so that the hops keep most of it.
  const nodeWidth = Math.min(Math.max(12, Math.floor(width / 4)), Math.max(...path.map((h) => displayWidth(h.node))));
  const lines: Line[] = [{ segs: [{ text: MESSAGE }, { text: t("cli.wherePacketsWent"), dim: true }] }];
  for (const h of path) {
    const node = displayWidth(h.node) <= nodeWidth ? padToWidth(h.node, nodeWidth) : sliceToWidth(h.node, nodeWidth - 1) + "…";
    const head: Seg = { text: `${HOP}${node}  `, bold: true };
    lines.push(...wrapSegs([{ text: h.what }], width, [head], [{ text: " ".repeat(displayWidth(head.text)) }]));
  }
  return lines;
}
