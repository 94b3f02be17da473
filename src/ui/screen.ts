/**
 * What the lesson screen draws, as pure functions: pane sizes for a terminal size, the
 * lesson pane's content, the header and the two footer lines. The App draws them and the
 * reducer measures with them (scrolling, jumping to a hint).
 */
import { t } from "../i18n/index.js";
import { clock } from "../text/clock.js";
import type { Progress } from "../state/progress.js";
import type { Dialog } from "./lesson-state.js";
import { fitSegs, type Line, type Seg } from "../text/lines.js";
import { lessonContent, truncate, type LessonContent } from "./panes.js";
import { MARK } from "../text/theme.js";
import { displayWidth } from "../text/width.js";
import type { CheckRun, LabView, StepView } from "./types.js";

export function columns(width: number): { twoColumns: boolean; left: number; right: number } {
  const twoColumns = width >= 64;
  const left = twoColumns ? Math.max(24, Math.min(36, Math.floor(width * 0.32))) : 0;
  return { twoColumns, left, right: width - left };
}

/** Rows the probe pane may fill inside its borders. */
export function probeRows(height: number): number {
  return Math.floor(Math.max(0, height - 4) * 0.45) - 2;
}

/** Sizes of the panes for a terminal size; pure so that tests can pin it. */
export function layout(width: number, height: number, counts: { steps: number; probes: number; traffic: number; topology: number }) {
  const body = Math.max(0, height - 4);
  const { twoColumns, left, right } = columns(width);
  let stepsH = Math.min(counts.steps + 2, Math.max(3, Math.floor(body / 3)));
  let trafficH = counts.traffic ? Math.min(counts.traffic + 2, Math.max(0, body - stepsH)) : 0;
  let topoH = Math.min(counts.topology + 2, body - stepsH - trafficH);
  if (topoH < 4) topoH = 0;
  // The last pane of the left column takes what is left, so the column ends with the body.
  const spare = Math.max(0, body - stepsH - trafficH - topoH);
  if (trafficH) trafficH += spare;
  else if (topoH) topoH += spare;
  else stepsH += spare;
  const probeH = Math.max(3, Math.min(counts.probes + 2, Math.floor(body * 0.45)));
  const lessonH = Math.max(3, body - probeH);
  return { body, twoColumns, left, right, stepsH, trafficH, topoH, probeH, lessonH, tooSmall: body < 8 || width < 40 };
}

/** A step's prediction waits for the learner's answer until the step has passed. */
export function predictionPending(step: StepView, progress: Progress): boolean {
  return Boolean(step.predict) && progress.predictions[step.id] === undefined && !progress.passed.includes(step.id);
}

/** The lesson pane for the step at `index`: hints, solution and prediction as far as the learner got. */
export function lessonPane(view: LabView, progress: Progress, solutionShown: string[], index: number, width: number, colour: boolean): LessonContent {
  const step = view.steps[index]!;
  return lessonContent(view, index, progress.hintsShown[step.id] ?? 0, solutionShown.includes(step.id), width, colour, {
    yours: progress.predictions[step.id],
    revealed: progress.passed.includes(step.id),
  });
}

export function headerLines(view: LabView, index: number, width: number): Line[] {
  const right = t("ui.header.step", { n: index + 1, of: view.steps.length });
  const title = truncate(`lvs-lab · ${view.title}`, width - displayWidth(right) - 2);
  const line1: Line = { segs: [{ text: title, bold: true }, { text: " ".repeat(Math.max(1, width - displayWidth(title) - displayWidth(right))) }, { text: right, bold: true, color: "yellow" }] };
  const info = t("ui.header.info", { instance: view.instance, engine: view.engineHost }) + (view.kernel ? t("ui.header.kernel", { kernel: view.kernel }) : "");
  return [line1, { segs: [{ text: truncate(info, width), dim: true }] }];
}

export function statusLine(status: { busy?: string; checking: boolean; last?: CheckRun; notice?: string }, width: number): Line {
  const segs: Seg[] = [];
  if (status.busy) segs.push({ text: t("ui.status.busy", { what: status.busy }), color: "yellow", bold: true });
  else if (status.checking) segs.push({ text: t("ui.status.checking"), color: "yellow" });
  else segs.push({ text: t("ui.status.idle"), dim: true });
  const last: Seg | undefined = status.last && { text: t("ui.status.lastCheck", { at: clock(status.last.at), s: (status.last.ms / 1000).toFixed(1) }), dim: true };
  const notice: Seg[] = status.notice ? [{ text: "  " }, { text: status.notice, bold: true }] : [];
  const used = [...segs, ...(last ? [last] : []), ...notice].reduce((w, seg) => w + displayWidth(seg.text), 0);
  // A notice is news ("Step 2 passed. n: next step"); the time of the last check is not: it gives way.
  if (last && (used <= width || !notice.length)) segs.push(last);
  segs.push(...notice);
  return { segs: fitSegs(segs, width) };
}

/** The keys that work now: a dialog's answers, or the lesson's keys. */
export function keyLine(at: { dialog?: Dialog; index: number; nodes: string[]; predictChoices?: number }, width: number): Line {
  const k = (key: string, what: string): Seg[] => [{ text: key, bold: true, color: "cyan" }, { text: ` ${what}  ` }];
  const yesNo = [...k("y", t("ui.keys.yes")), ...k("n", t("ui.keys.no"))];
  const { dialog } = at;
  let segs: Seg[];
  if (dialog?.kind === "solution") segs = [{ text: t("ui.dialog.solution"), bold: true }, ...yesNo];
  else if (dialog?.kind === "reset") segs = [{ text: t("ui.dialog.reset", { n: at.index + 1 }), bold: true }, ...yesNo];
  else if (dialog?.kind === "quit") segs = [{ text: t("ui.dialog.quit"), bold: true }, ...k("s", t("ui.dialog.stop")), ...k("k", t("ui.dialog.keep")), ...k("c", t("ui.dialog.cancel"))];
  else if (dialog?.kind === "shell")
    segs = [
      { text: t("ui.dialog.shellOn"), bold: true },
      ...at.nodes.flatMap((n, i): Seg[] => [{ text: i === dialog.sel ? MARK.current : " ", color: "yellow" }, { text: `${i + 1}`, bold: true, color: "cyan" }, { text: ` ${n}  `, bold: i === dialog.sel }]),
      { text: t("ui.dialog.shellKeys"), dim: true },
    ];
  else if (at.predictChoices)
    segs = [...k(`1-${at.predictChoices}`, t("ui.keys.predict")), ...k("n/p", t("ui.keys.step")), ...k("c", t("ui.keys.check")), ...k("h", t("ui.keys.hint")), ...k("x", t("ui.keys.shell")), ...k("q", t("ui.keys.quit")), ...k("?", t("ui.keys.help"))];
  else
    segs = [...k("n/p", t("ui.keys.step")), ...k("c", t("ui.keys.check")), ...k("h", t("ui.keys.hint")), ...k("s", t("ui.keys.solution")), ...k("x", t("ui.keys.shell")), ...k("r", t("ui.keys.reset")), ...k("q", t("ui.keys.quit")), ...k("?", t("ui.keys.help"))];
  return { segs: fitSegs(segs, width) };
}
