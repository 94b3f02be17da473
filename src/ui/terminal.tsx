/**
 * Mounting the UI on the real terminal: the start-up view, then the lesson screen on the
 * alternate screen. A shell unmounts the app (raw mode off, stdin paused), gives the
 * terminal to `docker exec -it`, then mounts a new app from the snapshot the old one left.
 * Whatever happens (quit, exception, signal, process.exit), the terminal is restored.
 */
import { render } from "ink";
import { t as say } from "../i18n/index.js";
import { setFlagsFromString } from "node:v8";
import type { LabSession, StartOptions } from "../lab/session.js";
import type { Progress } from "../state/progress.js";
import { App } from "./app.js";
import type { Controller } from "./controller.js";
import { initialPhases, StartupView, type PhaseName, type PhaseState } from "./startup.js";
import { colourWanted, MARK, ThemeContext, type Theme } from "../text/theme.js";
import type { UiExit, UiSnapshot } from "./types.js";

const ALT_ON = "\x1b[?1049h";
const ALT_OFF = "\x1b[?1049l";
const CLEAR = "\x1b[2J\x1b[H";
const SHOW_CURSOR = "\x1b[?25h";

function releaseStdin(): void {
  const stdin = process.stdin;
  if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
  stdin.pause();
}

/** The alternate screen, entered and left at most once each; left again on process exit. */
class Screen {
  private on = false;
  private readonly onExit = () => this.leave();
  constructor() {
    process.on("exit", this.onExit);
  }
  enter(): void {
    if (this.on) return;
    this.on = true;
    process.stdout.write(ALT_ON + CLEAR);
  }
  leave(): void {
    releaseStdin();
    if (!this.on) {
      process.stdout.write(SHOW_CURSOR);
      return;
    }
    this.on = false;
    process.stdout.write(ALT_OFF + SHOW_CURSOR);
  }
  dispose(): void {
    this.leave();
    process.off("exit", this.onExit);
  }
}

/**
 * The lesson screen is a long-lived process that mostly waits. V8 lets its young generation
 * grow to 3 × 16 MB, which a re-check every 2 s fills over time; kept at its first size it
 * costs ~20 MB less resident memory for a few more (tiny) scavenges (bench/results/).
 */
function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

function theme(): Theme {
  return { colour: colourWanted(process.stdout) };
}

export interface StartupInfo {
  title: string;
  instance: string;
  engineHost: string;
}

export type StartupHooks = Required<Pick<StartOptions, "onImage" | "onPhase">>;

/** Shows the start-up phases while `work` builds the lab; the view stays on screen after. */
export async function withStartupView<T>(info: StartupInfo, work: (hooks: StartupHooks) => Promise<T>): Promise<T> {
  keepYoungGenerationSmall();
  const startedAt = Date.now();
  const phases = initialPhases();
  phases.image = { state: "running", detail: say("ui.startup.checkingImage"), startedAt };
  const t = theme();
  const width = () => Math.min(process.stdout.columns || 80, 100);
  const element = (error?: string) => (
    <ThemeContext.Provider value={t}>
      <StartupView {...info} phases={{ ...phases }} startedAt={startedAt} width={width()} error={error} />
    </ThemeContext.Provider>
  );
  const inst = render(element(), { exitOnCtrlC: false, patchConsole: false, maxFps: 20 });
  const set = (name: PhaseName, p: Partial<PhaseState>) => {
    phases[name] = { ...phases[name], ...p };
    inst.rerender(element());
  };
  const finishImage = () => {
    if (phases.image.state === "running") set("image", { state: "done", endedAt: Date.now() });
  };
  try {
    const result = await work({
      onImage: (e) => set("image", { detail: e.line.slice(0, 200) }),
      onPhase: (phase, state, detail) => {
        finishImage();
        if (state === "start") set(phase, { state: "running", detail: detail ? say("ui.startup.creating", { detail }) : undefined, startedAt: Date.now() });
        else set(phase, { state: "done", endedAt: Date.now() });
      },
    });
    finishImage();
    inst.rerender(element());
    return result;
  } catch (e) {
    for (const name of Object.keys(phases) as PhaseName[]) if (phases[name].state === "running") phases[name] = { ...phases[name], state: "failed", endedAt: Date.now() };
    inst.rerender(element(e instanceof Error ? e.message.split("\n")[0] : String(e)));
    throw e;
  } finally {
    inst.unmount();
    await inst.waitUntilExit().catch(() => undefined);
    releaseStdin();
  }
}

export interface LessonOutcome {
  stop: boolean;
  session: LabSession;
  checkTimes: number[];
}

function size() {
  // One row short of the screen: a frame as tall as the terminal makes ink clear and
  // redraw everything on each update (flicker); one row less lets it rewrite lines.
  return { width: process.stdout.columns || 80, height: Math.max(1, (process.stdout.rows || 24) - 1) };
}

/** Mounts the app once; resolves when it asks for a shell or to quit. */
function mountOnce(snapshot: UiSnapshot, ctrl: Controller, t: Theme, signal?: AbortSignal): Promise<UiExit> {
  return new Promise<UiExit>((resolve, reject) => {
    let done = false;
    const element = (onExit: (e: UiExit) => void) => {
      const { width, height } = size();
      return (
        <ThemeContext.Provider value={t}>
          <App initial={snapshot} actions={ctrl.actions} width={width} height={height} onExit={onExit} signal={signal} />
        </ThemeContext.Provider>
      );
    };
    const finish = (e: UiExit) => {
      if (done) return;
      done = true;
      process.stdout.off("resize", onResize);
      inst.unmount();
      inst.waitUntilExit().then(
        () => resolve(e),
        () => resolve(e),
      );
    };
    process.stdout.write(CLEAR);
    const inst = render(element(finish), { exitOnCtrlC: false, patchConsole: true, incrementalRendering: process.env.LVS_LAB_INCREMENTAL === "1", maxFps: 30 });
    const onResize = () => {
      inst.clear();
      process.stdout.write(CLEAR);
      inst.rerender(element(finish));
    };
    process.stdout.on("resize", onResize);
    inst.waitUntilExit().catch((e: unknown) => {
      if (done) return;
      done = true;
      process.stdout.off("resize", onResize);
      reject(e);
    });
  });
}

function shellBanner(snapshot: UiSnapshot, node: string): string {
  const v = snapshot.view;
  const i = snapshot.progress.step;
  const step = v.steps[i]!;
  // Observations show what to look at; they are no verdict, so they are not listed as failing.
  const failing = snapshot.last?.step === i ? snapshot.last.results.filter((r) => !r.ok && !r.observation) : [];
  const lines = [
    "",
    say("ui.shell.banner", { node, instance: v.instance, n: i + 1, of: v.steps.length, title: step.title }),
    ...failing.map((r) => `   ${MARK.failed} ${r.description}`),
    say("ui.shell.back"),
    "",
  ];
  return lines.join("\n") + "\n";
}

/** Runs the lesson screen on the lab behind `ctrl` until the learner quits (or `signal` aborts). */
export async function runLesson(ctrl: Controller, progress: Progress, opts: { signal?: AbortSignal } = {}): Promise<LessonOutcome> {
  keepYoungGenerationSmall();
  const t = theme();
  let snapshot: UiSnapshot = { view: ctrl.view(), progress, scroll: 0, solutionShown: [], outcome: {} };
  const screen = new Screen();
  screen.enter();
  try {
    for (;;) {
      const exit = await mountOnce(snapshot, ctrl, t, opts.signal);
      snapshot = exit.snapshot;
      if (exit.kind === "quit" || opts.signal?.aborted) {
        await ctrl.flush();
        return { stop: exit.kind === "quit" && exit.stop, session: ctrl.session(), checkTimes: ctrl.checkTimes };
      }
      screen.leave();
      process.stdout.write(shellBanner(snapshot, exit.node));
      let notice: string;
      try {
        const code = await ctrl.shell(exit.node);
        notice = say("ui.shell.backFrom", { node: exit.node, code: code ? say("ui.shell.exitCode", { code }) : "" });
      } catch (e) {
        notice = say("ui.shell.failed", { node: exit.node, error: e instanceof Error ? e.message : String(e) });
      }
      screen.enter();
      // A new app instance starts from the snapshot and checks at once.
      snapshot = { ...snapshot, notice };
    }
  } finally {
    screen.dispose();
  }
}
