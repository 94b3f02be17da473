/**
 * The instructor's page: static HTML, CSS and a small script (no framework), served under
 * a content security policy that allows only these files. The script draws the grid from
 * the live stream (/api/stream) and sets every learner-provided string with textContent,
 * never as HTML. Sized for a projector: large type, marks as well as colours.
 *
 * The page speaks the instructor's language, the one `class serve` runs in (--lang,
 * LVS_LAB_LANG or the locale), not the browser's Accept-Language: the instructor chose it,
 * and the page, projected to the class, then says what the terminal (`class watch`) says.
 */
import { inLanguage, t, type MessageKey } from "../../i18n/index.js";
import type { Line } from "../../text/lines.js";
import { probeView } from "../../text/probe-view.js";
import type { LearnerDetail } from "../ledger.js";

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** A catalogue sentence for HTML: escaped, {{variables}} filled with ready-made (escaped) HTML. */
function html(key: MessageKey, lang: string, parts: Record<string, string> = {}): string {
  return escapeHtml(t(key, {}, lang)).replace(/\{\{(\w+)\}\}/g, (whole, name: string) => parts[name] ?? whole);
}

/**
 * A learner's detail for the page: each probe also as the lines `check` and `class watch`
 * draw (text/probe-view.ts), unwrapped (the browser wraps), which the script maps to text
 * nodes with a class per style.
 */
export function detailForPage(d: LearnerDetail, lang: string): LearnerDetail & { views: Line[][] } {
  return { ...d, views: inLanguage(lang, () => d.probes.map((p) => probeView(p))) };
}

export function pageHtml(lang = "en"): string {
  const say = html("classroom.web.sayPlaceholder", lang);
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html("classroom.web.title", lang)}</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header>
  <h1 id="title">${html("classroom.web.title", lang)}</h1>
  <span id="status" class="status">${html("classroom.web.connecting", lang)}</span>
</header>
<p class="join">${html("classroom.web.join", lang)} <code id="join-command">…</code></p>
<p id="warning" class="warning" role="alert" hidden></p>
<main id="labs"><p class="empty">${html("classroom.grid.noLearner", lang)}</p></main>
<section id="waiting" class="waiting"></section>
<section id="detail" class="detail" hidden></section>
<footer>
  <form id="say-form"><input id="say-text" maxlength="500" placeholder="${say}" aria-label="${say}"><button type="submit">${html("classroom.web.say", lang)}</button></form>
  <a id="export" href="/api/export.csv" download="class.csv">${html("classroom.web.exportCsv", lang)}</a>
  <span id="notice" class="notice" role="status"></span>
</footer>
<script src="/app.js"></script>
</body>
</html>
`;
}

/**
 * The sign-in form: the token goes in a POST body, never in an address (the browser's
 * history and its address-bar suggestions would keep it), and comes back as a session.
 */
export function signInPage(problem?: string, lang = "en"): string {
  const howTo = html("classroom.web.signInHowTo", lang, { serve: "<code>lvs-lab class serve</code>" });
  return `<!doctype html>
<html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><title>${html("classroom.web.signInTitle", lang)}</title><link rel="stylesheet" href="/app.css"></head>
<body><h1>${html("classroom.web.title", lang)}</h1><p id="problem">${escapeHtml(problem ?? t("classroom.web.needsToken", {}, lang))}</p>
<p>${howTo}</p>
<form id="sign-in" method="post" action="/signin"><label>${html("classroom.web.tokenLabel", lang)} <input name="token" type="password" autocomplete="off" required autofocus></label> <button type="submit">${html("classroom.web.signIn", lang)}</button></form>
</body></html>
`;
}

/** The sentences the page's script shows, as {{variable}} templates it fills in itself. */
const SCRIPT_TEXTS = {
  live: "classroom.web.live",
  reconnecting: "classroom.web.reconnecting",
  documentTitle: "classroom.web.documentTitle",
  passed: "classroom.web.cell.passed",
  helped: "classroom.web.cell.helped",
  failed: "classroom.web.cell.failed",
  todo: "classroom.web.cell.todo",
  cellTitle: "classroom.web.cellTitle",
  learner: "classroom.web.column.learner",
  step: "classroom.web.column.step",
  onStep: "classroom.web.column.onStep",
  hints: "classroom.web.column.hints",
  flags: "classroom.web.column.flags",
  failing: "classroom.web.column.failing",
  classOnStep: "classroom.grid.classOnStep",
  noLearner: "classroom.grid.noLearner",
  nobodyStarted: "classroom.grid.nobodyStarted",
  waiting: "classroom.grid.waiting",
  done: "classroom.grid.done",
  stuck: "classroom.grid.stuck",
  regressed: "classroom.grid.regressed",
  offered: "classroom.web.offered",
  left: "classroom.grid.left",
  catchUpOne: "classroom.web.catchUpOne",
  catchUpAll: "classroom.web.catchUpAll",
  catchUpOffered: "classroom.grid.catchUpOffered",
  nobodyBehind: "classroom.grid.nobodyBehind",
  catchUpFailed: "classroom.grid.catchUpFailed",
  listSeparator: "classroom.instructor.listSeparator",
  said: "classroom.web.said",
  sayFailed: "classroom.web.sayFailed",
  detailStep: "classroom.web.detailStep",
  detailNoLab: "classroom.web.detailNoLab",
  noCheck: "classroom.watch.noCheck",
  detailFailed: "classroom.web.detailFailed",
  seconds: "vm.duration.seconds",
  minutes: "vm.duration.minutes",
  hours: "vm.duration.hours",
} satisfies Record<string, MessageKey>;

export function scriptTexts(lang: string): Record<keyof typeof SCRIPT_TEXTS, string> {
  return Object.fromEntries(Object.entries(SCRIPT_TEXTS).map(([name, key]) => [name, t(key, {}, lang)])) as Record<keyof typeof SCRIPT_TEXTS, string>;
}

/** The page's script with its sentences in `lang`. */
export function pageJs(lang = "en"): string {
  return `var TEXTS = ${JSON.stringify(scriptTexts(lang))};\n${PAGE_JS}`;
}

export const PAGE_CSS = `
:root { color-scheme: light; --ok: #116b2b; --bad: #b3131b; --help: #1f4fb3; --muted: #5c5c5c; }
body { font: 20px/1.4 system-ui, sans-serif; margin: 1rem 1.5rem; color: #111; background: #fff; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.6rem; margin: 0; }
h2 { font-size: 1.25rem; margin: 1.2rem 0 0.4rem; }
code { font-family: ui-monospace, monospace; background: #f1f1f1; padding: 0 0.25rem; }
.status { color: var(--muted); }
.status.live::before { content: "● "; color: var(--ok); }
.join { margin: 0.4rem 0; font-size: 1.1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th.step, td.step { text-align: center; width: 2.2rem; font-size: 1.3rem; }
td.passed { color: var(--ok); } td.helped { color: var(--help); } td.failed { color: var(--bad); } td.todo { color: #aaa; }
td.step.current { outline: 2px solid #888; outline-offset: -3px; }
tr.stuck { background: #fff1c2; }
tr.offline td.name { color: var(--muted); font-style: italic; }
tr.selected { box-shadow: inset 4px 0 0 #333; }
tbody tr { cursor: pointer; }
th { white-space: nowrap; }
.flag { white-space: nowrap; display: inline-block; font-size: 0.8rem; font-weight: 700; padding: 0 0.35rem; border-radius: 0.25rem; margin-right: 0.25rem; }
.flag.stuck { background: #f0b400; color: #000; } .flag.regressed { background: var(--bad); color: #fff; } .flag.offer { background: var(--help); color: #fff; } .flag.left { background: #ccc; }
.failing { color: var(--bad); font-size: 0.9rem; max-width: 28rem; }
button { font: inherit; font-size: 0.85rem; cursor: pointer; }
.waiting { color: var(--muted); margin-top: 0.6rem; }
.detail { border: 1px solid #bbb; padding: 0.5rem 1rem; margin-top: 1rem; }
.detail .probe { font-family: ui-monospace, monospace; font-size: 0.9rem; white-space: pre-wrap; margin: 0.2rem 0 0.5rem; }
.detail .bold { font-weight: 700; } .detail .dim { color: var(--muted); }
.detail .green { color: var(--ok); } .detail .red { color: var(--bad); }
footer { margin-top: 1.2rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
footer input { font: inherit; width: 24rem; }
.notice { color: var(--muted); }
.warning { background: #fff1c2; border-left: 4px solid #f0b400; padding: 0.3rem 0.6rem; }
.empty { color: var(--muted); }
`;

/** Plain ES2017 for any current browser; no template literals (this file is one). */
const PAGE_JS = String.raw`(function () {
  "use strict";
  var MARKS = { passed: "\u2714", helped: "\u271A", failed: "\u2718", todo: "\u00B7" };
  var view = null, offset = 0, selected = null;

  /** A sentence of TEXTS (set before this script) with its {{variables}} filled in. */
  function say(name, vars) {
    return TEXTS[name].replace(/\{\{(\w+)\}\}/g, function (whole, v) { return vars && v in vars ? String(vars[v]) : whole; });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return say("seconds", { n: s });
    var m = Math.floor(s / 60);
    if (m < 60) return say("minutes", { n: m });
    return say("hours", { h: Math.floor(m / 60), m: m % 60 });
  }
  function serverNow() { return Date.now() + offset; }
  function notice(text) { document.getElementById("notice").textContent = text; }
  function status(text, live) {
    var s = document.getElementById("status");
    s.textContent = text;
    s.className = live ? "status live" : "status";
  }
  function post(path, body) {
    return fetch(path, { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || ("HTTP " + r.status)); return j; }); });
  }
  function catchUp(lab, step, name) {
    var body = { lab: lab, step: step };
    if (name !== undefined) body.learner = name;
    post("/api/catch-up", body).then(function (r) {
      notice(say("catchUpOffered", { step: step, names: r.reaches.length ? r.reaches.join(say("listSeparator")) : say("nobodyBehind") }));
    }, function (e) { notice(say("catchUpFailed", { error: e.message })); });
  }

  function flagsCell(row) {
    var td = el("td", "flags");
    if (row.stuck) td.appendChild(el("span", "flag stuck", say("stuck", { duration: duration(row.stuckSeconds || 0) })));
    if (row.regressed.length) td.appendChild(el("span", "flag regressed", say("regressed", { steps: row.regressed.join(",") })));
    if (row.offer) td.appendChild(el("span", "flag offer", say("offered", { step: row.offer })));
    if (row.left) td.appendChild(el("span", "flag left", say("left")));
    return td;
  }

  function rowOf(grid, row) {
    var tr = el("tr");
    tr.dataset.learner = row.learner;
    if (row.stuck) tr.classList.add("stuck");
    if (!row.online) tr.classList.add("offline");
    if (row.learner === selected) tr.classList.add("selected");
    tr.appendChild(el("td", "name", row.name));
    row.cells.forEach(function (cell, i) {
      var td = el("td", "step " + cell + (i + 1 === row.current && !row.finished ? " current" : ""), MARKS[cell]);
      td.title = say("cellTitle", { n: i + 1, word: say(cell) });
      tr.appendChild(td);
    });
    tr.appendChild(el("td", "where", row.finished ? say("done") : row.current + "/" + grid.steps.length));
    var clock = el("td", "clock", row.finished ? "" : duration(row.onStepSeconds));
    clock.dataset.since = String(view.now - row.onStepSeconds * 1000);
    if (row.finished) clock.dataset.done = "1";
    tr.appendChild(clock);
    tr.appendChild(el("td", "hints", row.hints));
    tr.appendChild(flagsCell(row));
    tr.appendChild(el("td", "failing", row.failing.join("; ")));
    var action = el("td", "action");
    if (!row.left && row.current < grid.classStep && row.offer !== grid.classStep) {
      var b = el("button", "catch-up", say("catchUpOne", { step: grid.classStep }));
      b.addEventListener("click", function (ev) { ev.stopPropagation(); catchUp(grid.id, grid.classStep, row.name); });
      action.appendChild(b);
    }
    tr.appendChild(action);
    tr.addEventListener("click", function () { selected = row.learner; render(); showDetail(row.learner); });
    return tr;
  }

  function gridOf(grid) {
    var section = el("section", "lab");
    section.dataset.lab = grid.id;
    section.appendChild(el("h2", null, say("classOnStep", { title: grid.title, n: grid.classStep, of: grid.steps.length })));
    var table = el("table");
    var head = el("tr");
    head.appendChild(el("th", null, say("learner")));
    grid.steps.forEach(function (s) { var th = el("th", "step", s.number); th.title = s.title; head.appendChild(th); });
    [say("step"), say("onStep"), say("hints"), say("flags"), say("failing"), ""].forEach(function (t) { head.appendChild(el("th", null, t)); });
    var thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = el("tbody");
    grid.rows.forEach(function (row) { body.appendChild(rowOf(grid, row)); });
    table.appendChild(body);
    section.appendChild(table);
    var behind = grid.rows.filter(function (r) { return !r.left && r.current < grid.classStep && r.offer !== grid.classStep; }).length;
    if (behind) {
      var all = el("button", "catch-up-all", say("catchUpAll", { count: behind, step: grid.classStep }));
      all.addEventListener("click", function () { catchUp(grid.id, grid.classStep); });
      section.appendChild(all);
    }
    return section;
  }

  function render() {
    if (!view) return;
    document.getElementById("title").textContent = view.title;
    var warning = document.getElementById("warning");
    warning.textContent = view.warning || "";
    warning.hidden = !view.warning;
    document.title = say("documentTitle", { title: view.title });
    document.getElementById("join-command").textContent = "lvs-lab class join " + location.origin + " --code " + view.joinCode + " --as NAME";
    var labs = document.getElementById("labs");
    labs.replaceChildren();
    if (!view.labs.length) labs.appendChild(el("p", "empty", say(view.learners ? "nobodyStarted" : "noLearner")));
    view.labs.forEach(function (g) { labs.appendChild(gridOf(g)); });
    var waiting = document.getElementById("waiting");
    waiting.textContent = view.waiting.length ? say("waiting", { names: view.waiting.map(function (w) { return w.name; }).join(say("listSeparator")) }) : "";
  }

  function showDetail(id) {
    fetch("/api/learners/" + encodeURIComponent(id), { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      var box = document.getElementById("detail");
      box.replaceChildren();
      box.hidden = false;
      var title = d.step ? say("detailStep", { name: d.name, n: d.step.number, title: d.step.title }) : say("detailNoLab", { name: d.name });
      box.appendChild(el("h2", null, title));
      if (!d.probes.length) box.appendChild(el("p", "empty", say("noCheck")));
      // The lines check and class watch draw (text/probe-view.ts), each segment a text node.
      d.views.forEach(function (lines) {
        var probe = el("div", "probe");
        lines.forEach(function (line) {
          var row = el("div", "line");
          line.segs.forEach(function (seg) {
            var style = [seg.bold ? "bold" : "", seg.dim ? "dim" : "", seg.color === "green" || seg.color === "red" ? seg.color : ""].join(" ").trim();
            row.appendChild(el("span", style || null, seg.text));
          });
          probe.appendChild(row);
        });
        box.appendChild(probe);
      });
    }, function () { notice(say("detailFailed")); });
  }

  function tick() {
    if (!view) return;
    var now = serverNow();
    document.querySelectorAll("td.clock").forEach(function (td) {
      if (!td.dataset.done) td.textContent = duration((now - Number(td.dataset.since)) / 1000);
    });
  }

  document.getElementById("say-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = document.getElementById("say-text");
    if (!input.value.trim()) return;
    post("/api/say", { text: input.value }).then(function () { notice(say("said", { text: input.value })); input.value = ""; }, function (e) { notice(say("sayFailed", { error: e.message })); });
  });

  var source = new EventSource("/api/stream");
  source.addEventListener("class", function (ev) {
    view = JSON.parse(ev.data);
    offset = view.now - Date.now();
    status(say("live"), true);
    render();
  });
  source.onerror = function () { status(say("reconnecting"), false); };
  setInterval(tick, 1000);
})();
`;
