import { describe, it, expect, vi } from "vitest";
import { render } from "ink-testing-library";
import type { ProbeResult } from "../src/probes/runner.js";
import { freshProgress, type Progress } from "../src/state/progress.js";
import type { ResolvedTopology } from "../src/topology/resolve.js";
import { App } from "../src/ui/app.js";
import { layout } from "../src/ui/screen.js";
import { plainText } from "../src/text/lines.js";
import { markdownLines } from "../src/ui/markdown.js";
import { lessonContent, probeLines, stepListLines, topologyLines, trafficLines } from "../src/ui/panes.js";
import { initialPhases, StartupView } from "../src/ui/startup.js";
import type { LabView, UiActions, UiExit, UiSnapshot } from "../src/ui/types.js";

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/** Waits until the frame shows `text` (ink renders a little after input), then asserts it. */
async function see(frame: () => string, text: string): Promise<void> {
  await until(() => frame().includes(text));
  expect(frame()).toContain(text);
}

/** Effects (such as saving) run a little after the frame shows a change. */
async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await tick(10);
}

const topology: ResolvedTopology = {
  id: "dnat",
  title: "Port forwarding",
  networks: {
    ext: { name: "ext", subnet: "198.51.100.0/24", prefix: 24, gateway: "198.51.100.1" },
    int: { name: "int", subnet: "10.0.1.0/24", prefix: 24, gateway: "10.0.1.1" },
  },
  nodes: {
    client: { name: "client", role: "client", addresses: { ext: "198.51.100.100" }, serve: [], sysctls: {}, setup: [] },
    director: { name: "director", role: "director", addresses: { ext: "198.51.100.50", int: "10.0.1.50" }, serve: [], sysctls: {}, setup: [] },
    rs1: { name: "rs1", role: "realserver", addresses: { int: "10.0.1.210" }, serve: [8000], sysctls: {}, setup: [] },
    rs2: { name: "rs2", role: "realserver", addresses: { int: "10.0.1.211" }, serve: [8000], sysctls: {}, setup: [] },
  },
  vips: { vip: { network: "ext", address: "198.51.100.77" } },
};

const view: LabView = {
  labId: "dnat",
  title: "Port forwarding with iptables DNAT",
  instance: "dnat",
  engineHost: "unix:///var/run/docker.sock",
  kernel: "6.1.0-test",
  intro: "",
  steps: [
    {
      id: "forward",
      title: "Let the director forward packets",
      prose: "Turn on **forwarding** in `/proc/sys/net/ipv4/ip_forward`.",
      hints: ["First hint: read the value.", "Second hint: write 1 into it."],
      solutions: [{ node: "director", commands: "echo 1 > /proc/sys/net/ipv4/ip_forward" }],
    },
    {
      id: "dnat-rule",
      title: "Rewrite the destination with DNAT",
      prose: "Add a DNAT rule.",
      hints: ["Use iptables."],
      solutions: [{ node: "director", commands: "iptables -t nat -A PREROUTING -j DNAT" }],
    },
    { id: "gateway", title: "Send replies back", prose: "Fix the gateway.", hints: [], solutions: [{ node: "rs1", commands: "ip route replace default via 10.0.1.50" }] },
  ],
  topology,
  ifaces: {},
  nodes: ["client", "director", "rs1", "rs2"],
};

const failing: ProbeResult[] = [
  { ok: false, kind: "sysctl", node: "director", description: "net.ipv4.ip_forward = 1 on director", message: "director: net.ipv4.ip_forward is 0, it must be 1.", hint: 1 },
];
const passing: ProbeResult[] = [{ ok: true, kind: "sysctl", node: "director", description: "net.ipv4.ip_forward = 1 on director", message: "director: net.ipv4.ip_forward is 1." }];
const traffic: ProbeResult = {
  ok: true,
  kind: "http",
  node: "client",
  description: "4 requests from client to 198.51.100.50:8001 get answers",
  message: "4/4 answered (rs1 3, rs2 1).",
  spread: { counts: { rs1: 3, rs2: 1 }, failed: 0, total: 4, repliesViaDirector: 8, clientSeenAs: ["198.51.100.100"] },
};

function snapshot(progress: Progress = freshProgress("dnat"), extra: Partial<UiSnapshot> = {}): UiSnapshot {
  return { view, progress, scroll: 0, solutionShown: [], outcome: {}, ...extra };
}

function fakeActions(results: (step: number) => ProbeResult[] = () => failing) {
  const saved: Progress[] = [];
  const actions: UiActions & { saved: Progress[] } = {
    saved,
    check: vi.fn(async (step: number) => results(step)),
    solve: vi.fn(async () => "Applied the solution on director."),
    reset: vi.fn(async () => view),
    saveProgress: (p) => saved.push(structuredClone(p)),
  };
  return actions;
}

function mount(opts: { actions?: ReturnType<typeof fakeActions>; snap?: UiSnapshot; auto?: boolean; width?: number; height?: number } = {}) {
  const actions = opts.actions ?? fakeActions();
  const exits: UiExit[] = [];
  const ui = render(
    <App
      initial={opts.snap ?? snapshot()}
      actions={actions}
      width={opts.width ?? 80}
      height={opts.height ?? 23}
      onExit={(e) => exits.push(e)}
      autoCheck={opts.auto ?? false}
      checkEveryMs={40}
      advanceAfterMs={40}
    />,
  );
  return { ui, actions, exits, frame: () => ui.lastFrame() ?? "" };
}

describe("markdown", () => {
  it("renders headings, lists, code and inline code without colour", () => {
    const text = "# Title\n\nSome *em* and **strong** and `code`.\n\n- one\n- two\n\n1. first\n2. second\n\n```\nls -l\n```";
    const out = plainText(markdownLines(text, 40, false));
    expect(out).toContain("■ Title");
    expect(out).toContain("Some em and strong and `code`.");
    expect(out).toContain("• one\n• two");
    expect(out).toContain("1. first\n2. second");
    expect(out).toContain("│ ls -l");
  });

  it("wraps to the width and keeps list indentation", () => {
    const lines = markdownLines("- " + "word ".repeat(20), 20, true);
    for (const l of lines) expect(l.segs.map((s) => s.text).join("").length).toBeLessThanOrEqual(20);
    expect(plainText(lines).split("\n")[1]).toMatch(/^ {2}word/);
  });

  it("keeps punctuation with the code before it when wrapping", () => {
    const lines = plainText(markdownLines("aaaa bbbb cccc dddd `conntrack -L`: the end", 30, false)).split("\n");
    expect(lines.some((l) => l.startsWith(":"))).toBe(false);
    expect(lines.join(" ")).toContain("-L`:");
  });

  it("does not put backticks around code when colour shows it", () => {
    expect(plainText(markdownLines("run `ls`", 30, true))).toBe("run ls");
  });
});

describe("panes", () => {
  it("marks steps: passed, solved with help, failed, current, not yet", () => {
    const p: Progress = { ...freshProgress("dnat"), step: 1, passed: ["forward"], solvedWithHelp: [] };
    const text = plainText(stepListLines(view, p, { "dnat-rule": false }, 30));
    expect(text.split("\n")).toEqual([" ✔ 1 Let the director forward…", "▶✘ 2 Rewrite the destination…", " · 3 Send replies back"]);
    const helped = plainText(stepListLines(view, { ...p, solvedWithHelp: ["forward"] }, {}, 30));
    expect(helped.split("\n")[0]).toBe(" ✚ 1 Let the director forward…");
  });

  it("shows a failing probe with its message and hint number", () => {
    const text = plainText(probeLines({ step: 0, results: failing, at: 0, ms: 100 }, 70, false));
    expect(text).toContain("✘ net.ipv4.ip_forward = 1 on director");
    expect(text).toContain("it must be 1. (hint 1: press h)");
  });

  it("shortens messages so that all probes fit while that leaves each verdict two lines", () => {
    const many = [failing[0]!, ...passing];
    const lines = probeLines({ step: 0, results: many, at: 0, ms: 1 }, 40, false, 5);
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(plainText(lines)).toContain("✔ net.ipv4");
  });

  it("folds the passing probes into one line before it cuts a failing verdict to one line", () => {
    const long = { ...failing[0]!, message: "the cause, then the fix: " + "x ".repeat(30) };
    const many = [failing[0]!, long, ...passing, ...passing, ...passing];
    const text = plainText(probeLines({ step: 0, results: many, at: 0, ms: 1 }, 40, false, 7));
    expect(text.split("\n").length).toBeLessThanOrEqual(7);
    expect(text).toContain("the cause, then the fix:");
    expect(text).not.toContain("✔ net.ipv4");
    expect(text).toMatch(/✔ the other 3 checks pass \(or only observe\)$/);
  });

  it("draws the topology with networks and the VIP", () => {
    const text = plainText(topologyLines(view, 26));
    expect(text).toBe(
      ["client .100", " │ ext 198.51.100.0/24", "director ext.50 int.50", " │ int 10.0.1.0/24", "rs1 .210 :8000", "rs2 .211 :8000", "VIP 198.51.100.77 on ext…"].join("\n"),
    );
  });

  it("draws bars per real server, failures and the reply path", () => {
    const text = plainText(trafficLines(traffic.spread!, ["rs1", "rs2"], 40));
    expect(text).toMatch(/rs1 +█+░* +3/);
    expect(text).toMatch(/rs2 +█+░+ +1/);
    expect(text).toContain("failed 0 of 4");
    expect(text).toContain("replies: via director (8 packets)");
    expect(plainText(trafficLines({ ...traffic.spread!, repliesViaDirector: 0, counts: {} }, ["rs1"], 40))).toContain("replies: straight to the client");
  });

  it("wraps a long prediction choice under its text, not under its number", () => {
    const predict = { question: "Q?", choices: ["short", "a choice long enough to wrap onto a second line here"], answer: 1, reveal: "R." };
    const asking: LabView = { ...view, steps: [{ ...view.steps[0]!, predict }, ...view.steps.slice(1)] };
    const text = plainText(lessonContent(asking, 0, 0, false, 40, false).lines).split("\n");
    const first = text.findIndex((l) => l.includes("2. a choice"));
    expect(text[first + 1]).toMatch(/^ {7}\S/);
  });

  it("reveals hints in order inside the lesson", () => {
    const one = plainText(lessonContent(view, 0, 1, false, 50, false).lines);
    expect(one).toContain("Hint 1 of 2");
    expect(one).not.toContain("Hint 2 of 2");
    const two = lessonContent(view, 0, 2, false, 50, false);
    expect(plainText(two.lines).indexOf("First hint")).toBeLessThan(plainText(two.lines).indexOf("Second hint"));
    expect(two.hintAt).toHaveLength(2);
  });

  it("keeps the layout inside the terminal", () => {
    for (const [w, h] of [[80, 23], [120, 39], [200, 59]] as const) {
      const L = layout(w, h, { steps: 3, probes: 9, traffic: 4, topology: 7 });
      expect(L.left + L.right).toBe(w);
      expect(L.stepsH + L.trafficH + L.topoH).toBe(L.body);
      expect(L.lessonH + L.probeH).toBe(L.body);
    }
  });
});

describe("App", () => {
  it("renders all panes at 80x23 within the width", async () => {
    const { frame, ui } = mount({ snap: snapshot(freshProgress("dnat"), { last: { step: 0, results: [...failing, traffic], at: Date.UTC(2024, 0, 1, 10, 0, 0), ms: 420 } }) });
    await tick();
    const f = frame();
    const rows = f.split("\n");
    expect(rows.length).toBe(23);
    for (const r of rows) expect(r.length).toBeLessThanOrEqual(80);
    expect(rows[0]).toMatch(/^lvs-lab · Port forwarding with iptables DNAT +step 1 of 3$/);
    expect(rows[1]).toContain("instance dnat · engine unix:///var/run/docker.sock · kernel 6.1.0-test");
    expect(f).toContain("▶· 1 Let the director");
    expect(f).toContain("Checks 1/2 pass");
    expect(f).toContain("✘ net.ipv4.ip_forward = 1 on director");
    expect(f).toContain("(hint 1: press h)");
    expect(f).toContain("Traffic (4)");
    expect(f).toContain("replies: via director");
    expect(f).toContain("director ext.50 int.50");
    expect(f).toContain("last check");
    expect(rows[22]).toContain("n/p step");
    ui.unmount();
  });

  it("reveals one hint per h and saves the count", async () => {
    const { ui, actions, frame } = mount();
    ui.stdin.write("h");
    await see(frame, "Hint 1 of 2");
    expect(frame()).not.toContain("Hint 2 of 2");
    await until(() => actions.saved.length > 0);
    expect(actions.saved.at(-1)!.hintsShown).toEqual({ forward: 1 });
    ui.stdin.write("h");
    await see(frame, "Hint 2 of 2");
    await until(() => actions.saved.at(-1)!.hintsShown.forward === 2);
    expect(actions.saved.at(-1)!.hintsShown).toEqual({ forward: 2 });
    ui.stdin.write("h");
    await see(frame, "All 2 hints are shown");
    expect(actions.saved.at(-1)!.hintsShown).toEqual({ forward: 2 });
    ui.unmount();
  });

  it("asks before showing the solution, then marks the step solved with help and can apply it", async () => {
    const { ui, actions, frame } = mount();
    ui.stdin.write("s");
    await see(frame, "Show the solution?");
    ui.stdin.write("n");
    await until(() => !frame().includes("Show the solution?"));
    expect(frame()).not.toContain("type on director");
    expect(actions.saved).toHaveLength(0);
    ui.stdin.write("s");
    await see(frame, "Show the solution?");
    ui.stdin.write("y");
    await see(frame, "type on director:");
    expect(frame()).toContain("echo 1 > /proc/sys/net/ipv4/ip_forward");
    await until(() => actions.saved.length > 0);
    expect(actions.saved.at(-1)!.solvedWithHelp).toEqual(["forward"]);
    ui.stdin.write("a");
    await see(frame, "Applied the solution on director.");
    expect(actions.solve).toHaveBeenCalledWith(0);
    ui.unmount();
  });

  it("opens a shell on the picked node through onExit", async () => {
    const { ui, exits, frame } = mount();
    ui.stdin.write("x");
    await see(frame, "Shell on:");
    expect(frame()).toContain("▶2 director");
    ui.stdin.write("3");
    await until(() => exits.length > 0);
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ kind: "shell", node: "rs1" });
    ui.unmount();
  });

  it("quits only after the question: s stops, k keeps, c cancels", async () => {
    for (const [key, expected] of [["s", true], ["k", false]] as const) {
      const { ui, exits, frame } = mount();
      ui.stdin.write("q");
      await see(frame, "stop the containers");
      ui.stdin.write(key);
      await until(() => exits.length > 0);
      expect(exits).toEqual([expect.objectContaining({ kind: "quit", stop: expected })]);
      ui.unmount();
    }
    const { ui, exits, frame } = mount();
    ui.stdin.write("q");
    await see(frame, "keep them for later");
    ui.stdin.write("c");
    await until(() => !frame().includes("keep them for later"));
    expect(frame()).toContain("n/p step");
    expect(exits).toHaveLength(0);
    ui.stdin.write("\x03");
    await until(() => exits.length > 0);
    expect(exits).toEqual([expect.objectContaining({ kind: "quit", stop: false })]);
    ui.unmount();
  });

  it("asks before a reset and calls it for the current step", async () => {
    const { ui, actions, frame } = mount({ snap: snapshot({ ...freshProgress("dnat"), step: 1 }) });
    ui.stdin.write("r");
    await see(frame, "Reset the lab to the start of step 2?");
    ui.stdin.write("y");
    await until(() => (actions.reset as ReturnType<typeof vi.fn>).mock.calls.length > 0);
    expect(actions.reset).toHaveBeenCalledWith(1);
    ui.unmount();
  });

  it("moves between steps with n and p and saves the step", async () => {
    const { ui, actions, frame } = mount();
    ui.stdin.write("n");
    await see(frame, "step 2 of 3");
    await until(() => actions.saved.length > 0);
    expect(actions.saved.at(-1)!.step).toBe(1);
    ui.stdin.write("p");
    await see(frame, "step 1 of 3");
    ui.unmount();
  });

  it("re-checks by itself, marks a passed step and moves on", async () => {
    let fixed = false;
    let running = 0;
    let overlapped = false;
    const actions = fakeActions((step) => (step === 0 && fixed ? passing : failing));
    const check = actions.check;
    actions.check = vi.fn(async (step: number) => {
      overlapped ||= running > 0;
      running++;
      await tick(15);
      running--;
      return check(step);
    });
    const { ui, frame } = mount({ actions, auto: true });
    await see(frame, "✘ net.ipv4.ip_forward");
    fixed = true;
    await until(() => actions.saved.some((p) => p.passed.includes("forward")));
    expect(actions.saved.some((p) => p.passed.includes("forward"))).toBe(true);
    await see(frame, "step 2 of 3");
    expect(frame()).toContain(" ✔ 1 Let the director");
    await until(() => actions.saved.at(-1)?.step === 1);
    expect(actions.saved.at(-1)!.step).toBe(1);
    // Checks ran again and again, never two at once.
    const calls = (actions.check as ReturnType<typeof vi.fn>).mock.calls.length;
    expect(calls).toBeGreaterThan(2);
    expect(overlapped).toBe(false);
    ui.unmount();
  });

  it("goes on over steps the state already proves: a failing observation holds nobody back", async () => {
    const observation: ProbeResult = { ok: false, observation: true, kind: "http", node: "client", description: "no answer comes back (yet)", message: "198.51.100.50:8001 answered 2 of 2 requests." };
    const actions = fakeActions((step) => (step < 2 ? [...passing, observation] : failing));
    const { ui, frame } = mount({ actions, auto: true });
    await until(() => actions.saved.some((p) => p.passed.includes("dnat-rule")), 3000);
    expect(actions.saved.at(-1)!.passed).toEqual(["forward", "dnat-rule"]);
    await see(frame, "step 3 of 3");
    ui.unmount();
  });

  it("asks a step's prediction before the measurement, keeps the answer once and reveals it after the pass", async () => {
    const predict = { question: "What does curl do?", choices: ["rs1 answers", "it hangs", "refused"], answer: 2, reveal: "It **hangs**: the reply takes Docker's gateway." };
    const asking: LabView = { ...view, steps: [{ ...view.steps[0]!, predict }, ...view.steps.slice(1)] };
    let fixed = false;
    const actions = fakeActions(() => (fixed ? passing : failing));
    const { ui, frame } = mount({ actions, snap: { ...snapshot(), view: asking }, width: 100, height: 40 });
    await see(frame, "Predict — press 1–3 before you measure");
    expect(frame()).toContain("1-3 predict");
    ui.stdin.write("3");
    await see(frame, "› 3. refused (your prediction)");
    await until(() => actions.saved.some((p) => p.predictions.forward === 3));
    ui.stdin.write("1");
    await tick();
    expect(actions.saved.at(-1)!.predictions).toEqual({ forward: 3 });
    expect(frame()).not.toContain("hangs: the reply");
    fixed = true;
    ui.stdin.write("c");
    await see(frame, "hangs: the reply takes Docker's gateway.");
    expect(frame()).toMatch(/✔ 2\. it hangs/);
    ui.unmount();
  });

  it("draws at a new size and leaves, keeping the lab, when the signal aborts", async () => {
    const abort = new AbortController();
    const exits: UiExit[] = [];
    const props = { initial: snapshot(), actions: fakeActions(), onExit: (e: UiExit) => exits.push(e), autoCheck: false, signal: abort.signal };
    const ui = render(<App {...props} width={80} height={23} />);
    await tick();
    ui.rerender(<App {...props} width={100} height={30} />);
    await until(() => ui.lastFrame()!.split("\n").length === 30);
    expect(ui.lastFrame()!.split("\n")[0]).toHaveLength(100);
    ui.stdin.write("h");
    abort.abort();
    await until(() => exits.length > 0);
    expect(exits).toEqual([expect.objectContaining({ kind: "quit", stop: false })]);
    expect(exits[0]!.snapshot.progress.hintsShown).toEqual({ forward: 1 });
    ui.unmount();
  });

  it("shows resumed progress: passed steps stay marked", async () => {
    const p: Progress = { ...freshProgress("dnat"), step: 2, passed: ["forward", "dnat-rule"], solvedWithHelp: ["dnat-rule"] };
    const { ui, frame } = mount({ snap: snapshot(p) });
    await see(frame, " ✔ 1 Let the director");
    expect(frame()).toContain(" ✚ 2 Rewrite");
    expect(frame()).toContain("▶· 3 Send replies back");
    ui.unmount();
  });
});

describe("StartupView", () => {
  it("shows the phases with marks and times", () => {
    const phases = initialPhases();
    phases.image = { state: "done", startedAt: 0, endedAt: 300 };
    phases.networks = { state: "running", detail: "creating 2 networks", startedAt: 300 };
    const { lastFrame, unmount } = render(<StartupView title="DNAT" instance="dnat" engineHost="unix:///x" phases={phases} startedAt={0} now={1000} width={80} />);
    const f = lastFrame() ?? "";
    expect(f).toMatch(/✔ image +0\.3 s +ready/);
    expect(f).toMatch(/networks +0\.7 s +creating 2 networks/);
    expect(f).toMatch(/· containers/);
    expect(f).toContain("total 1.0 s");
    unmount();
  });
});
