/**
 * Pure builders: each pane's content as wrapped lines for a given width. Components only
 * draw these, so what a pane shows is testable without a terminal.
 */
import type { ProbeResult } from "../probes/runner.js";
import { t } from "../i18n/index.js";
import type { Spread } from "../probes/types.js";
import type { Progress } from "../state/progress.js";
import { codeLines, wrapSegs, type Line, type Seg } from "../text/lines.js";
import { fails, probeMark } from "../text/probe-view.js";
import { markdownLines } from "./markdown.js";
import { MARK } from "../text/theme.js";
import type { CheckRun, LabView, StepView } from "./types.js";
import { displayWidth, padToWidth, sliceToWidth } from "../text/width.js";

export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  return displayWidth(text) <= width ? text : sliceToWidth(text, Math.max(0, width - 1)).trimEnd() + "…";
}

export type StepState = "passed" | "helped" | "failed" | "notYet";

export function stepState(step: StepView, progress: Progress, outcome: Record<string, boolean>): StepState {
  if (progress.passed.includes(step.id)) return progress.solvedWithHelp.includes(step.id) ? "helped" : "passed";
  if (outcome[step.id] === false) return "failed";
  return "notYet";
}

const STATE_MARK: Record<StepState, Seg> = {
  passed: { text: MARK.passed, color: "green", bold: true },
  helped: { text: MARK.helped, color: "blue", bold: true },
  failed: { text: MARK.failed, color: "red", bold: true },
  notYet: { text: MARK.notYet, dim: true },
};

export function stepListLines(view: LabView, progress: Progress, outcome: Record<string, boolean>, width: number): Line[] {
  return view.steps.map((s, i) => {
    const current = i === progress.step;
    const head: Seg[] = [{ text: current ? MARK.current : " ", color: "yellow", bold: true }, STATE_MARK[stepState(s, progress, outcome)]];
    const label = truncate(` ${i + 1} ${s.title}`, width - 2);
    return { segs: [...head, { text: label, bold: current }] };
  });
}

export interface LessonContent {
  lines: Line[];
  /** First line of each revealed hint, of the solution and of the prediction, for scrolling to them. */
  hintAt: number[];
  solutionAt?: number;
  predictAt?: number;
}

/** Where the learner stands with a step's prediction. */
export interface PredictionState {
  /** Their choice (1-based), if they made one. */
  yours?: number;
  /** The step has passed: the answer may be shown. */
  revealed: boolean;
}

function predictionLines(step: StepView, state: PredictionState, width: number, colour: boolean): Line[] {
  const p = step.predict!;
  const lines: Line[] = [{ segs: [{ text: t("ui.lesson.predict"), bold: true, color: "yellow" }, { text: state.revealed || state.yours ? "" : t("ui.lesson.predictPress", { max: p.choices.length }), dim: true }] }];
  lines.push(...markdownLines(p.question, width - 2, colour).map((l) => ({ ...l, segs: [{ text: "  " }, ...l.segs] })));
  p.choices.forEach((c, i) => {
    const mine = state.yours === i + 1;
    const right = state.revealed && p.answer === i + 1;
    const mark: Seg = right ? { text: MARK.passed, color: "green", bold: true } : { text: mine ? "›" : " ", color: "yellow", bold: true };
    const number = `${i + 1}. `;
    // A hanging indent: a choice's next lines start under its text, not under its number.
    lines.push(...wrapSegs([{ text: `${number}${c}`, bold: mine }, ...(mine ? [{ text: t("ui.lesson.yourPrediction"), dim: true }] : [])], width - 4, [{ text: "  " }, mark, { text: " " }], [{ text: " ".repeat(4 + number.length) }]));
  });
  if (state.revealed) lines.push(...markdownLines(p.reveal, width - 2, colour).map((l) => ({ ...l, segs: [{ text: "  " }, ...l.segs] })));
  return lines;
}

export function lessonContent(
  view: LabView,
  index: number,
  hintsShown: number,
  solutionShown: boolean,
  width: number,
  colour: boolean,
  prediction: PredictionState = { revealed: false },
): LessonContent {
  const step = view.steps[index]!;
  const lines: Line[] = [];
  if (index === 0 && view.intro.trim()) lines.push(...markdownLines(view.intro, width, colour), { segs: [] });
  lines.push(...wrapSegs([{ text: t("ui.lesson.stepTitle", { n: index + 1, of: view.steps.length, title: step.title }), bold: true, heading: true }], width, [{ text: "■ ", bold: true, heading: true }], [{ text: "  " }]));
  lines.push({ segs: [] }, ...markdownLines(step.prose, width, colour));
  let predictAt: number | undefined;
  if (step.predict) {
    lines.push({ segs: [] });
    predictAt = lines.length;
    lines.push(...predictionLines(step, prediction, width, colour));
  }
  const hintAt: number[] = [];
  for (let h = 0; h < Math.min(hintsShown, step.hints.length); h++) {
    lines.push({ segs: [] });
    hintAt.push(lines.length);
    lines.push({ segs: [{ text: t("ui.lesson.hint", { n: h + 1, of: step.hints.length }), bold: true, color: "magenta" }] });
    lines.push(...markdownLines(step.hints[h]!, width - 2, colour).map((l) => ({ ...l, segs: [{ text: "  " }, ...l.segs] })));
  }
  let solutionAt: number | undefined;
  if (solutionShown) {
    lines.push({ segs: [] });
    solutionAt = lines.length;
    lines.push({ segs: [{ text: t("ui.lesson.solution"), bold: true, color: "magenta" }, { text: t("ui.lesson.solutionHelped"), dim: true }] });
    for (const s of step.solutions) lines.push(...codeLines(s.commands, width, t("ui.lesson.typeOn", { node: s.node })));
    lines.push(...wrapSegs([{ text: t("ui.lesson.applyOrType"), dim: true }], width));
  }
  return { lines, hintAt, solutionAt, predictAt };
}

function probeLine(r: ProbeResult, width: number, messageRows: number): Line[] {
  // The pane's compact form of probeView: a pass or an observation on one line, hops cut to the width.
  const mark = probeMark(r);
  if (r.ok || r.observation) {
    const desc = truncate(r.description, width - 2);
    const room = width - 2 - displayWidth(desc) - 3;
    const msg: Seg[] = room > 12 ? [{ text: ` — ${truncate(r.message, room)}`, dim: true }] : [];
    return [{ segs: [mark, { text: " " + desc }, ...msg] }];
  }
  const head: Line = { segs: [mark, { text: " " + truncate(r.description, width - 2), bold: true }] };
  const hint: Seg[] = r.hint ? [{ text: t("ui.probes.hint", { n: r.hint }), color: "magenta" }] : [];
  const body = wrapSegs([{ text: r.message }, ...hint], width, [{ text: "  " }]);
  if (body.length > messageRows && messageRows > 0) {
    const cut = body.slice(0, messageRows);
    const lastLine = cut[cut.length - 1]!;
    cut[cut.length - 1] = { segs: [...lastLine.segs.slice(0, -1), { ...lastLine.segs[lastLine.segs.length - 1]!, text: truncate(lastLine.segs[lastLine.segs.length - 1]!.text + "…", width) }] };
    return [head, ...cut];
  }
  return [head, ...body.slice(0, messageRows)];
}

/** A traffic probe's hops (failing or observed), one indented line each, cut to the width. */
function pathLines(r: ProbeResult, width: number): Line[] {
  return (r.path ?? []).map((h) => ({ segs: [{ text: "    " }, { text: truncate(h.node, width - 4), bold: true }, { text: truncate(` ${h.what}`, width - 4 - displayWidth(h.node)) }] }));
}

/**
 * One line per passing probe; failing ones get their message (and hint number) below,
 * then where their packets went; shortened so that all probes fit in `rows` when possible
 * (the hops go last).
 */
export function probeLines(run: CheckRun | undefined, width: number, checking: boolean, rows = Infinity): Line[] {
  if (!run) return [{ segs: [{ text: checking ? t("ui.probes.checking") : t("ui.probes.notChecked"), dim: true }] }];
  const draw = (results: ProbeResult[], messageRows: number, withPath: boolean) => results.flatMap((r) => [...probeLine(r, width, messageRows), ...(withPath ? pathLines(r, width) : [])]);
  const holding = run.results.filter(fails);
  const others = run.results.length - holding.length;
  // A failing verdict's message says the cause and the fix: where rows are short, the
  // passing probes and observations fold into one line before a message is cut.
  const folded = (messageRows: number, withPath: boolean) => [...draw(holding, messageRows, withPath), { segs: [{ text: t("ui.probes.folded", { count: others }), dim: true }] }];
  const fold = holding.length > 0 && others > 1;
  const tries: Array<() => Line[]> = [
    () => draw(run.results, 4, true),
    () => draw(run.results, 3, true),
    ...(fold ? [() => folded(4, true), () => folded(3, true)] : []),
    () => draw(run.results, 2, true),
    ...(fold ? [() => folded(2, true), () => folded(2, false)] : []),
    () => draw(run.results, 1, true),
  ];
  let lines: Line[] = [];
  for (const attempt of tries) {
    lines = attempt();
    if (lines.length <= rows) return lines;
  }
  return draw(run.results, 1, false);
}

function short(address: string, prefix: number): string {
  return prefix >= 24 ? "." + address.split(".").slice(3).join(".") : address;
}

const ROLE_ORDER = ["client", "director", "backup-director", "realserver"];

/** client — director — real servers, with the networks between them and the VIPs. */
export function topologyLines(view: LabView, width: number): Line[] {
  const topo = view.topology;
  const nodes = Object.values(topo.nodes);
  const rank = (role: string) => {
    const r = ROLE_ORDER.indexOf(role);
    return r < 0 ? ROLE_ORDER.length : r;
  };
  const tiers: (typeof nodes)[] = [];
  for (const n of [...nodes].sort((a, b) => rank(a.role) - rank(b.role))) {
    const last = tiers[tiers.length - 1];
    if (last && (rank(last[0]!.role) === rank(n.role) || (n.role === "backup-director" && last[0]!.role === "director"))) last.push(n);
    else tiers.push([n]);
  }
  const lines: Line[] = [];
  const nets = (ns: typeof nodes) => new Set(ns.flatMap((n) => Object.keys(n.addresses)));
  tiers.forEach((tier, i) => {
    if (i > 0) {
      const shared = [...nets(tiers[i - 1]!)].filter((n) => nets(tier).has(n));
      for (const name of shared) {
        const net = topo.networks[name]!;
        lines.push({ segs: [{ text: " │ ", dim: true }, { text: truncate(`${name} ${net.subnet}`, width - 3), color: "blue" }] });
      }
      if (!shared.length) lines.push({ segs: [{ text: t("ui.probes.routed"), dim: true }] });
    }
    for (const n of tier) {
      const addrs = Object.entries(n.addresses).map(([net, a]) => {
        const multi = Object.keys(n.addresses).length > 1;
        return `${multi ? net : ""}${short(a, topo.networks[net]!.prefix)}`;
      });
      const serve = n.serve.length ? ` :${n.serve.join(",")}` : "";
      lines.push({ segs: [{ text: n.name, bold: true }, { text: truncate(` ${addrs.join(" ")}${serve}`, width - displayWidth(n.name)), dim: false }] });
    }
  });
  for (const [name, v] of Object.entries(topo.vips)) {
    const holders = nodes.filter((n) => n.role === "director" || n.role === "backup-director").map((n) => n.name);
    lines.push({ segs: [{ text: name.toUpperCase(), bold: true, color: "yellow" }, { text: truncate(t("ui.probes.vipAt", { address: v.address, network: v.network, at: holders.length ? t("ui.probes.at", { holders: holders.join("/") }) : "" }), width - name.length) }] });
  }
  if (!Object.keys(topo.vips).length) {
    const director = nodes.find((n) => n.role === "director");
    const outside = director && Object.entries(director.addresses)[0];
    if (outside) {
      const net = topo.networks[outside[0]]!;
      lines.push({ segs: [{ text: t("ui.probes.entry"), dim: true }, { text: truncate(`${outside[0]}${short(outside[1], net.prefix)} (${director.name})`, width - displayWidth(t("ui.probes.entry"))), color: "yellow" }] });
    }
  }
  return lines;
}

/** The probe whose traffic the traffic panel shows: the last one with a spread. */
export function spreadOf(run: CheckRun | undefined): Spread | undefined {
  const withSpread = run?.results.filter((r) => r.spread) ?? [];
  return withSpread[withSpread.length - 1]?.spread;
}

export function trafficLines(spread: Spread, servers: string[], width: number): Line[] {
  const names = [...new Set([...servers, ...Object.keys(spread.counts)])];
  const failed = t("ui.probes.failed");
  const label = Math.max(6, displayWidth(failed), ...names.map((n) => displayWidth(n)));
  const max = Math.max(1, spread.total);
  const barRoom = Math.max(3, width - label - 6);
  const lines: Line[] = names.map((n) => {
    const c = spread.counts[n] ?? 0;
    const len = Math.round((c / max) * barRoom);
    return {
      segs: [
        { text: padToWidth(n, label) + " " },
        { text: "█".repeat(len), color: "green" },
        { text: "░".repeat(Math.max(0, barRoom - len)), dim: true },
        { text: ` ${String(c).padStart(3)}` },
      ],
    };
  });
  lines.push({ segs: [{ text: padToWidth(failed, label) + " " }, { text: t("ui.probes.failedOf", { failed: spread.failed, total: spread.total }), color: spread.failed ? "red" : undefined, bold: spread.failed > 0 }] });
  if (spread.repliesViaDirector !== undefined) {
    const text = spread.repliesViaDirector > 0 ? t("ui.probes.viaDirector", { n: spread.repliesViaDirector }) : t("ui.probes.straight");
    lines.push(...wrapSegs([{ text: t("ui.probes.replies"), dim: true }, { text }], width));
  }
  if (spread.clientSeenAs?.length) lines.push(...wrapSegs([{ text: t("ui.probes.seenAs"), dim: true }, { text: spread.clientSeenAs.join(", ") }], width));
  return lines;
}

export function realServers(view: LabView): string[] {
  return Object.values(view.topology.nodes)
    .filter((n) => n.role === "realserver")
    .map((n) => n.name);
}

/** The lesson's keys and what each does (the words come from the catalogue). */
export function keys(): Array<[string, string]> {
  return [
    ["n/p", t("ui.help.next")],
    ["c", t("ui.help.check")],
    ["h", t("ui.help.hint")],
    ["s", t("ui.help.solution")],
    ["a", t("ui.help.apply")],
    ["x", t("ui.help.shell")],
    ["r", t("ui.help.reset")],
    ["j/k PgDn/PgUp", t("ui.help.scroll")],
    ["q", t("ui.help.quit")],
    ["?", t("ui.help.help")],
  ];
}

export function helpLines(width: number): Line[] {
  const lines: Line[] = [{ segs: [{ text: t("ui.help.keys"), bold: true }] }];
  for (const [k, what] of keys()) lines.push({ segs: [{ text: k.padEnd(15), bold: true, color: "cyan" }, { text: truncate(what, width - 15) }] });
  lines.push({ segs: [] }, { segs: [{ text: t("ui.help.marks"), bold: true }] });
  const marks: Array<[string, string]> = [
    [MARK.passed, t("ui.help.passed")],
    [MARK.helped, t("ui.help.helped")],
    [MARK.failed, t("ui.help.failed")],
    [MARK.current, t("ui.help.current")],
    [MARK.notYet, t("ui.help.notYet")],
  ];
  for (const [m, what] of marks) lines.push({ segs: [{ text: ` ${m} `, bold: true }, { text: truncate(what, width - 3) }] });
  return lines;
}
