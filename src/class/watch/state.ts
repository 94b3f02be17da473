/**
 * The watch screen's state as one pure reducer: the class view and connection from the
 * stream, the selected learner, the detail pane, keys. Effects (fetch a learner's detail,
 * send a catch-up offer, quit) are data for the runner.
 */
import type { ClassView } from "../aggregate.js";
import type { LearnerDetail } from "../ledger.js";
import { t } from "../../i18n/index.js";
import { rowOrder } from "./lines.js";

export interface WatchState {
  view?: ClassView;
  connected: boolean;
  problem?: string;
  selected?: string;
  detailOpen: boolean;
  detail?: LearnerDetail;
  notice?: string;
}

export interface WatchKey {
  upArrow?: boolean;
  downArrow?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  ctrl?: boolean;
}

export type WatchEvent =
  | { type: "view"; view: ClassView }
  | { type: "disconnected"; problem: string }
  | { type: "detail"; detail: LearnerDetail }
  | { type: "notice"; text: string }
  | { type: "key"; input: string; key: WatchKey };

export type WatchEffect = { type: "fetchDetail"; learner: string } | { type: "catchUp"; lab: string; step: number; learner?: string } | { type: "quit" };

export const initialWatch: WatchState = { connected: false, detailOpen: false };

type Transition = { state: WatchState; effects: WatchEffect[] };
const stay = (state: WatchState, ...effects: WatchEffect[]): Transition => ({ state, effects });

export function reduceWatch(s: WatchState, e: WatchEvent): Transition {
  switch (e.type) {
    case "view": {
      const order = rowOrder(e.view);
      const still = order.find((o) => o.row.learner === s.selected);
      const selected = still ? s.selected : order[0]?.row.learner;
      const before = s.view ? rowOrder(s.view).find((o) => o.row.learner === selected)?.row.events : undefined;
      const next = { ...s, view: e.view, connected: true, problem: undefined, selected };
      // The open detail follows the learner's new events.
      if (s.detailOpen && selected && still && still.row.events !== before) return stay(next, { type: "fetchDetail", learner: selected });
      return stay(next);
    }
    case "disconnected":
      return stay({ ...s, connected: false, problem: e.problem });
    case "detail":
      return stay(e.detail.learner === s.selected ? { ...s, detail: e.detail } : s);
    case "notice":
      return stay({ ...s, notice: e.text });
    case "key":
      return onKey(s, e.input, e.key);
  }
}

function move(s: WatchState, by: number): Transition {
  const order = s.view ? rowOrder(s.view) : [];
  if (!order.length) return stay(s);
  const at = Math.max(0, order.findIndex((o) => o.row.learner === s.selected));
  const selected = order[Math.min(order.length - 1, Math.max(0, at + by))]!.row.learner;
  if (selected === s.selected) return stay(s);
  const next = { ...s, selected, detail: undefined };
  return s.detailOpen ? stay(next, { type: "fetchDetail", learner: selected }) : stay(next);
}

function onKey(s: WatchState, input: string, key: WatchKey): Transition {
  if (input === "q" || (key.ctrl && input === "c")) return stay(s, { type: "quit" });
  if (key.upArrow || input === "k") return move(s, -1);
  if (key.downArrow || input === "j") return move(s, 1);
  if (key.return && s.selected) return stay({ ...s, detailOpen: true, detail: s.detail?.learner === s.selected ? s.detail : undefined }, { type: "fetchDetail", learner: s.selected });
  if ((key.escape || key.backspace) && s.detailOpen) return stay({ ...s, detailOpen: false });
  const found = s.view ? rowOrder(s.view).find((o) => o.row.learner === s.selected) : undefined;
  const grid = s.view?.labs.find((g) => g.id === found?.lab) ?? s.view?.labs[0];
  if (input === "c" && found && grid) {
    if (found.row.current >= grid.classStep) return stay({ ...s, notice: t("classroom.grid.notBehind", { name: found.row.name, step: grid.classStep }) });
    return stay(s, { type: "catchUp", lab: grid.id, step: grid.classStep, learner: found.row.name });
  }
  if (input === "C" && grid) return stay(s, { type: "catchUp", lab: grid.id, step: grid.classStep });
  return stay(s);
}
