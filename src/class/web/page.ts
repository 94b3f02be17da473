/**
 * The instructor's page: static HTML, CSS and a small script (no framework), served under
 * a content security policy that allows only these files. The script draws the grid from
 * the live stream (/api/stream) and sets every learner-provided string with textContent,
 * never as HTML. Sized for a projector: large type, marks as well as colours.
 */

export function pageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lvs-lab class</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header>
  <h1 id="title">lvs-lab class</h1>
  <span id="status" class="status">connecting…</span>
</header>
<p class="join">Join: <code id="join-command">…</code></p>
<main id="labs"><p class="empty">No learner has joined yet.</p></main>
<section id="waiting" class="waiting"></section>
<section id="detail" class="detail" hidden></section>
<footer>
  <form id="say-form"><input id="say-text" maxlength="500" placeholder="Say to the class" aria-label="Say to the class"><button type="submit">Say</button></form>
  <a id="export" href="/api/export.csv" download="class.csv">Export CSV</a>
  <span id="notice" class="notice" role="status"></span>
</footer>
<script src="/app.js"></script>
</body>
</html>
`;
}

export function signInPage(problem = "This page needs the instructor token."): string {
  const safe = problem.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lvs-lab class: sign in</title><link rel="stylesheet" href="/app.css"></head>
<body><h1>lvs-lab class</h1><p id="problem">${safe}</p>
<p>Open the address that <code>lvs-lab class serve</code> printed, the one ending in <code>/?token=…</code>.</p></body></html>
`;
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
.detail .probe.bad { color: var(--bad); } .detail .probe.ok { color: var(--ok); }
.detail .hops { margin: 0.2rem 0 0.4rem 1.5rem; font-family: ui-monospace, monospace; font-size: 0.85rem; color: #333; }
.detail .hop .node { display: inline-block; min-width: 7em; font-weight: 700; }
footer { margin-top: 1.2rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
footer input { font: inherit; width: 24rem; }
.notice { color: var(--muted); }
.empty { color: var(--muted); }
`;

/** Plain ES2017 for any current browser; no template literals (this file is one). */
export const PAGE_JS = String.raw`"use strict";
(function () {
  var MARKS = { passed: "\u2714", helped: "\u271A", failed: "\u2718", todo: "\u00B7" };
  var WORDS = { passed: "passed", helped: "solved with help", failed: "failing", todo: "not yet" };
  var view = null, offset = 0, selected = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
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
      notice("Catch-up to step " + step + " offered to " + (r.reaches.length ? r.reaches.join(", ") : "nobody (no one is behind)") + ".");
    }, function (e) { notice("Catch-up failed: " + e.message); });
  }

  function flagsCell(row) {
    var td = el("td", "flags");
    if (row.stuck) td.appendChild(el("span", "flag stuck", "STUCK " + duration(row.stuckSeconds || 0)));
    if (row.regressed.length) td.appendChild(el("span", "flag regressed", "REGRESSED " + row.regressed.join(",")));
    if (row.offer) td.appendChild(el("span", "flag offer", "OFFERED \u2192" + row.offer));
    if (row.left) td.appendChild(el("span", "flag left", "LEFT"));
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
      td.title = "Step " + (i + 1) + ": " + WORDS[cell];
      tr.appendChild(td);
    });
    tr.appendChild(el("td", "where", row.finished ? "done" : row.current + "/" + grid.steps.length));
    var clock = el("td", "clock", row.finished ? "" : duration(row.onStepSeconds));
    clock.dataset.since = String(view.now - row.onStepSeconds * 1000);
    if (row.finished) clock.dataset.done = "1";
    tr.appendChild(clock);
    tr.appendChild(el("td", "hints", row.hints));
    tr.appendChild(flagsCell(row));
    tr.appendChild(el("td", "failing", row.failing.join("; ")));
    var action = el("td", "action");
    if (!row.left && row.current < grid.classStep && row.offer !== grid.classStep) {
      var b = el("button", "catch-up", "Catch up to " + grid.classStep);
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
    section.appendChild(el("h2", null, grid.title + " \u00B7 the class is on step " + grid.classStep + " of " + grid.steps.length));
    var table = el("table");
    var head = el("tr");
    head.appendChild(el("th", null, "Learner"));
    grid.steps.forEach(function (s) { var th = el("th", "step", s.number); th.title = s.title; head.appendChild(th); });
    ["Step", "On step", "Hints", "Flags", "Failing", ""].forEach(function (t) { head.appendChild(el("th", null, t)); });
    var thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = el("tbody");
    grid.rows.forEach(function (row) { body.appendChild(rowOf(grid, row)); });
    table.appendChild(body);
    section.appendChild(table);
    var behind = grid.rows.filter(function (r) { return !r.left && r.current < grid.classStep && r.offer !== grid.classStep; }).length;
    if (behind) {
      var all = el("button", "catch-up-all", "Catch up everyone behind (" + behind + ") to step " + grid.classStep);
      all.addEventListener("click", function () { catchUp(grid.id, grid.classStep); });
      section.appendChild(all);
    }
    return section;
  }

  function render() {
    if (!view) return;
    document.getElementById("title").textContent = view.title;
    document.title = view.title + " \u00B7 lvs-lab class";
    document.getElementById("join-command").textContent = "lvs-lab class join " + location.origin + " --code " + view.joinCode + " --as NAME";
    var labs = document.getElementById("labs");
    labs.replaceChildren();
    if (!view.labs.length) labs.appendChild(el("p", "empty", view.learners ? "Nobody has started a lab yet." : "No learner has joined yet."));
    view.labs.forEach(function (g) { labs.appendChild(gridOf(g)); });
    var waiting = document.getElementById("waiting");
    waiting.textContent = view.waiting.length ? "Joined, no lab yet: " + view.waiting.map(function (w) { return w.name; }).join(", ") : "";
  }

  function showDetail(id) {
    fetch("/api/learners/" + encodeURIComponent(id), { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      var box = document.getElementById("detail");
      box.replaceChildren();
      box.hidden = false;
      var title = d.name + (d.step ? " \u00B7 step " + d.step.number + ": " + d.step.title : " \u00B7 no lab yet");
      box.appendChild(el("h2", null, title));
      if (!d.probes.length) box.appendChild(el("p", "empty", "No check of this step yet."));
      d.probes.forEach(function (p) {
        var line = el("div", "probe " + (p.ok ? "ok" : "bad"), (p.observation ? "\u00B7 " : p.ok ? "\u2714 " : "\u2718 ") + (p.description || p.kind));
        box.appendChild(line);
        box.appendChild(el("div", "message", p.message));
        if (p.path && p.path.length) {
          var hops = el("div", "hops");
          p.path.forEach(function (h) {
            var hop = el("div", "hop");
            hop.appendChild(el("span", "node", h.node));
            hop.appendChild(el("span", "what", h.what));
            hops.appendChild(hop);
          });
          box.appendChild(hops);
        }
      });
    }, function () { notice("Could not load the learner's details."); });
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
    post("/api/say", { text: input.value }).then(function () { notice("Said: " + input.value); input.value = ""; }, function (e) { notice("Could not say it: " + e.message); });
  });

  var source = new EventSource("/api/stream");
  source.addEventListener("class", function (ev) {
    view = JSON.parse(ev.data);
    offset = view.now - Date.now();
    status("live", true);
    render();
  });
  source.onerror = function () { status("reconnecting\u2026", false); };
  setInterval(tick, 1000);
})();
`;
