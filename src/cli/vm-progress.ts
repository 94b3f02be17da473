/**
 * Progress of getting the VM's engine during `start`: the steps still to do (build, data
 * disk, boot), each with the time it took here last time. On a terminal one live line
 * counts the seconds and what is left; in a pipe each step and detail is a plain line.
 */
import { t } from "../i18n/index.js";
import { roughDuration, type PhaseSeconds, type VmReadiness } from "../lab/placement.js";
import { stopwatch } from "../text/clock.js";
import { dim } from "./output.js";

export type StepKey = "build" | "accel" | "disk" | "image" | "boot";

export interface ProgressStep {
  key: StepKey;
  label: string;
  /** Seconds it usually takes here. */
  estimate: number;
}

const ACCEL_TRIAL_SECONDS = 30;

export function plannedSteps(r: VmReadiness, s: PhaseSeconds): ProgressStep[] {
  if (r.running) return [];
  return [
    ...(r.built ? [] : [{ key: "build" as const, label: t("vm.step.build"), estimate: s.build }]),
    ...(r.diskReady ? [] : [{ key: "disk" as const, label: t("vm.step.disk"), estimate: s.disk }]),
    { key: "boot", label: t("vm.step.boot"), estimate: s.boot },
  ];
}

/** vmUp's phase names to the step they belong to. */
export function stepOfPhase(phase: string, steps: ProgressStep[]): StepKey | undefined {
  if (phase === "download" || phase === "build" || phase === "pack") return "build";
  if (phase === "accel") return "accel";
  if (phase === "disk") return "disk";
  if (phase === "image load") return steps.some((s) => s.key === "disk") ? "disk" : "image";
  if (phase === "boot" || phase === "resume" || phase === "save") return "boot";
  return undefined;
}

/** A step that was not planned (the KVM trial, an image copy into a running VM) goes in before the rest. */
export function withStep(steps: ProgressStep[], key: StepKey, before: number, image: PhaseSeconds): ProgressStep[] {
  if (steps.some((s) => s.key === key)) return steps;
  const added: ProgressStep =
    key === "accel"
      ? { key, label: t("vm.step.accel"), estimate: ACCEL_TRIAL_SECONDS }
      : key === "image"
        ? { key, label: t("vm.step.image"), estimate: image.disk }
        : { key, label: key, estimate: image.boot };
  const at = Math.min(Math.max(before, 0), steps.length);
  return [...steps.slice(0, at), added, ...steps.slice(at)];
}

/** The live line: "VM 2/3 booting the VM · 0:12 · about 35 s left". */
export function progressText(steps: ProgressStep[], current: number, stepSeconds: number): string {
  const step = steps[current];
  if (!step) return t("vm.progress.gettingReady");
  const later = steps.slice(current + 1).reduce((sum, s) => sum + s.estimate, 0);
  const rest = step.estimate - stepSeconds;
  const left =
    rest > 0 || later > 0
      ? t("vm.progress.left", { duration: roughDuration(Math.max(rest, 0) + later) })
      : t("vm.progress.slow", { duration: roughDuration(step.estimate) });
  return t("vm.progress.live", { n: current + 1, of: steps.length, label: step.label, clock: stopwatch(stepSeconds), left });
}

export interface ProgressSink {
  tty: boolean;
  write(text: string): void;
}

export class VmProgress {
  private current = -1;
  private stepStarted = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private live = "";

  constructor(
    private steps: ProgressStep[],
    private readonly seconds: PhaseSeconds,
    private readonly out: ProgressSink,
  ) {}

  onPhase(phase: string, detail: string): void {
    const key = stepOfPhase(phase, this.steps);
    if (key) {
      this.steps = withStep(this.steps, key, this.current + 1, this.seconds);
      const index = this.steps.findIndex((s) => s.key === key);
      if (index !== this.current) {
        this.current = index;
        this.stepStarted = Date.now();
        if (!this.out.tty) {
          const s = this.steps[index]!;
          this.line(t("vm.progress.step", { n: index + 1, of: this.steps.length, label: s.label, duration: roughDuration(s.estimate) }));
        }
      }
    }
    if (phase !== "ready") this.line(dim(`  ${phase}: ${detail}`));
    if (this.out.tty && !this.timer && this.current >= 0) {
      this.timer = setInterval(() => this.redraw(), 1_000);
      this.timer.unref();
    }
    this.redraw();
  }

  /** Clears the live line and stops the clock. */
  finish(summary?: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLive();
    if (summary) this.out.write(`${summary}\n`);
  }

  private line(text: string): void {
    this.clearLive();
    this.out.write(`${text}\n`);
    this.redraw();
  }

  private clearLive(): void {
    if (this.out.tty && this.live) this.out.write("\r\x1b[K");
    this.live = "";
  }

  private redraw(): void {
    if (!this.out.tty || this.current < 0 || this.timer === undefined) return;
    const text = progressText(this.steps, this.current, (Date.now() - this.stepStarted) / 1000);
    this.out.write(`\r\x1b[K${text}`);
    this.live = text;
  }
}
