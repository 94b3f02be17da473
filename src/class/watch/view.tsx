/** The watch screen: props in, text out (the runner owns the state and the keys' effects). */
import { useInput } from "ink";
import { Rows } from "../../text/draw.js";
import type { Line } from "../../text/lines.js";
import { displayWidth } from "../../text/width.js";
import { t } from "../../i18n/index.js";
import { cleanText } from "../protocol.js";
import { detailLines, fit, gridLines, rowOrder } from "./lines.js";
import type { WatchKey, WatchState } from "./state.js";

export interface WatchScreenProps {
  state: WatchState;
  width: number;
  height: number;
}

/** The lines that fit `rows`, scrolled so that line `keep` is on screen. */
function window(lines: Line[], rows: number, keep = 0): Line[] {
  const top = Math.max(0, Math.min(keep - Math.floor(rows / 2), lines.length - rows));
  return lines.slice(top, top + rows);
}

export function WatchScreen({ state, width, height }: WatchScreenProps) {
  const v = state.view;
  const status = state.connected ? t("classroom.watch.live") : state.problem ? t("classroom.watch.reconnecting", { problem: state.problem }) : t("classroom.watch.connecting");
  const learners = t("classroom.watch.learners", { count: v?.learners ?? 0, status });
  const right = fit(learners, Math.min(displayWidth(learners), Math.floor(width * 0.6)));
  const title = t("classroom.watch.header", { title: cleanText(v?.title ?? "") });
  const header: Line = { segs: [{ text: fit(title, Math.max(0, width - displayWidth(right) - 1)) + " ", bold: true }, { text: right, dim: !state.connected }] };
  const rows = Math.max(1, height - 3);
  let body: Line[];
  if (state.detailOpen && state.detail) body = window(detailLines(state.detail, width), rows);
  else if (state.detailOpen) body = [{ segs: [{ text: t("classroom.watch.loading"), dim: true }] }];
  else if (v) {
    const grid = gridLines(v, state.selected, width);
    body = window(grid.lines, rows, grid.selectedAt);
  } else body = [{ segs: [{ text: t("classroom.watch.waitingServer"), dim: true }] }];
  while (body.length < rows) body.push({ segs: [] });
  const selected = v ? rowOrder(v).find((o) => o.row.learner === state.selected) : undefined;
  const classStep = v?.labs.find((g) => g.id === selected?.lab)?.classStep;
  const keys = state.detailOpen ? t("classroom.watch.keysDetail") : t("classroom.watch.keysGrid", { to: classStep ? t("classroom.watch.catchUpTo", { step: classStep }) : "" });
  // The instructor's own notice first; otherwise the server's warning that the log fills up.
  const notice: Line = state.notice ? { segs: [{ text: fit(state.notice, width), dim: true }] } : { segs: [{ text: fit(cleanText(v?.warning ?? ""), width), bold: true, color: "yellow" }] };
  const footer: Line[] = [notice, { segs: [{ text: fit(keys, width), dim: true }] }];
  return <Rows width={width} lines={[header, ...body, ...footer]} />;
}

/** Forwards the keyboard to the runner. */
export function KeyReader({ onKey }: { onKey: (input: string, key: WatchKey) => void }) {
  useInput((input, key) => onKey(input, key));
  return null;
}
