import type { Command } from "commander";
import { t } from "../i18n/index.js";
import { loadProgress } from "../state/progress.js";
import { bold, dim, printJson, red } from "./output.js";

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description(t("help.status.about"))
    .option("--json", t("help.option.json"))
    .action(async (opts: { json?: boolean }) => {
      const { knownEngines } = await import("../lab/locate.js");
      const { listInstances } = await import("../docker/instance.js");
      const { findLeftovers } = await import("../lab/session.js");
      const rows = [];
      for (const engine of await knownEngines()) {
        const leftovers = new Set(await findLeftovers(engine));
        const { instanceDetails } = await import("./instance-details.js");
        const found = await Promise.all(
          (await listInstances(engine)).map(async (i) => {
            const { progress } = await loadProgress(i.name, i.lab);
            const broken = leftovers.has(i.name);
            const details = opts.json ? await instanceDetails(engine, i.name, broken) : undefined;
            return { ...i, engine: engine.host, step: progress.step + 1, passed: progress.passed, broken, ...details };
          }),
        );
        rows.push(...found);
      }
      if (opts.json) return printJson(rows);
      if (!rows.length) return console.log(t("cli.noInstances"));
      for (const r of rows) {
        const state = r.broken ? red(t("cli.broken", { name: r.name })) : "";
        console.log(`${bold(r.name.padEnd(12))} ${t("cli.statusRow", { lab: r.lab.padEnd(10), step: r.step, nodes: r.nodes.length })} ${dim(r.engine)}${state}`);
      }
    });
}
