/**
 * `lvs-lab class provision`: one lab instance per learner on this server (or the VM),
 * started side by side, each fenced off from the others and from the host.
 */
import { Command } from "commander";
import { readFile } from "node:fs/promises";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import type { ProvisionResult } from "../lab/provision.js";
import { bold, printJson, progressLine, red } from "./output.js";

/** Starts at most this many at once by default: on 2 cores more only queue in the engine. */
const DEFAULT_PARALLEL = 4;

export function provisionCommand(): Command {
  return new Command("provision")
    .description(t("help.classProvision.about"))
    .requiredOption("--lab <lab>", t("help.classProvision.lab"))
    .option("--count <n>", t("help.classProvision.count"))
    .option("--prefix <prefix>", t("help.classProvision.prefix"), "learner")
    .option("--roster <file>", t("help.classProvision.roster"))
    .option("--parallel <n>", t("help.classProvision.parallel"), String(DEFAULT_PARALLEL))
    .option("--vm", t("help.classProvision.vm"))
    .option("--json", t("help.option.json"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async (opts: { lab: string; count?: string; prefix: string; roster?: string; parallel: string; vm?: boolean; json?: boolean }) => {
      if (Boolean(opts.count) === Boolean(opts.roster)) throw new UserError(t("classroom.provision.countOrRoster"));
      const { numberedNames, parseRoster, provisionClass } = await import("../lab/provision.js");
      const { engineFor } = await import("../lab/locate.js");
      const names = opts.roster
        ? parseRoster(await readFile(opts.roster, "utf8").catch(() => Promise.reject(new UserError(t("classroom.provision.noRoster", { path: opts.roster })))))
        : numberedNames(opts.prefix, Number(opts.count));
      const parallel = Number(opts.parallel);
      if (!Number.isInteger(parallel) || parallel < 1) throw new UserError(t("classroom.provision.badParallel"));
      const engine = await engineFor(opts);
      const began = Date.now();
      const results = await provisionClass(opts.lab, engine, names, {
        parallel,
        onResult: opts.json ? undefined : (r) => progressLine(describe(r)),
      });
      const failed = results.filter((r) => r.state === "failed");
      const seconds = (Date.now() - began) / 1000;
      if (opts.json) printJson({ lab: opts.lab, engine: engine.host, seconds, results });
      else {
        const ofTotal = bold(t("classroom.provision.ofTotal", { ok: results.length - failed.length, total: results.length }));
        console.log(t("classroom.provision.summary", { ofTotal, lab: opts.lab, host: engine.host, s: seconds.toFixed(1) }));
        console.log(t("classroom.provision.eachLearner", { lab: opts.lab, vm: opts.vm ? " --vm" : "" }));
      }
      if (failed.length) process.exitCode = 1;
    });
}

function describe(r: ProvisionResult): string {
  const warn = r.notes.filter((n) => n.startsWith("warning:"));
  if (r.state === "failed") return red(t("classroom.provision.failed", { name: r.name, s: r.seconds.toFixed(1), error: r.error }));
  const what = r.state === "running" ? t("classroom.provision.running") : t("classroom.provision.started", { s: r.seconds.toFixed(1) });
  return t("classroom.provision.result", { name: r.name, what, warnings: warn.length ? `; ${warn.join("; ")}` : "" });
}
