import type { Command } from "commander";
import { openTarget, stepIndex } from "./check.js";
import { t } from "../i18n/index.js";
import { progressLine, seconds } from "./output.js";

export function registerReset(program: Command): void {
  program
    .command("reset")
    .description("put the lab back to the start of the current step (fresh containers, earlier steps re-applied)")
    .option("--name <name>", "instance name")
    .option("--step <n>", "reset to the start of step n")
    .action(async (opts: { name?: string; step?: string }) => {
      const began = Date.now();
      const { resetLab } = await import("../lab/session.js");
      const { session, progress } = await openTarget(opts.name, { allowBroken: true });
      const index = stepIndex(opts.step, progress, session);
      await resetLab(session, index);
      progressLine(t("cli.resetDone", { name: session.name, n: index + 1, took: seconds(began) }));
    });
}
