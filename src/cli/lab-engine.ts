/**
 * The terminal's side of placing a lab (src/lab/locate.ts's placeLab): progress lines on
 * stderr, the VM's start-up phases, and a question asked once where stdin and stderr are
 * terminals (--yes for scripts).
 */
import { createInterface } from "node:readline/promises";
import { ExitCode, UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import type { PlaceHooks } from "../lab/locate.js";
import { bold, progressLine } from "./output.js";
import { plannedSteps, VmProgress } from "./vm-progress.js";

/** Terminals on both ends of a question: stdin to answer, stderr to ask. */
function interactive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

export function placeHooks(): PlaceHooks {
  return {
    interactive: interactive(),
    ask: askOnce,
    line: progressLine,
    vmProgress(readiness, estimates) {
      const progress = new VmProgress(plannedSteps(readiness, estimates), estimates, { tty: Boolean(process.stderr.isTTY), write: (t) => process.stderr.write(t) });
      return {
        onPhase: (phase, detail) => progress.onPhase(phase, detail),
        finish: (ready) =>
          progress.finish(
            ready && t("vm.ready.line", { title: bold(t("vm.ready.title")), s: ready.seconds, host: ready.dockerHost }) + (ready.idleMinutes > 0 ? t("vm.ready.idle", { minutes: ready.idleMinutes }) : ""),
          ),
      };
    },
  };
}

/** One question on the terminal; Ctrl-C at the prompt ends with `interrupted` (exit 130). */
async function askOnce(question: string, interrupted: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // At a prompt readline takes Ctrl-C as a key, not a signal: it must still interrupt.
  const ctrlC = new AbortController();
  rl.on("SIGINT", () => ctrlC.abort());
  try {
    return await rl.question(question, { signal: ctrlC.signal });
  } catch (e) {
    if (ctrlC.signal.aborted) throw new UserError(interrupted, undefined, ExitCode.interrupted);
    throw e;
  } finally {
    rl.close();
  }
}
