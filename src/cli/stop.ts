import type { Command } from "commander";
import { UserError } from "../errors.js";
import { printJson, progressLine, seconds } from "./output.js";

export function registerStop(program: Command): void {
  program
    .command("stop [lab]")
    .description("remove a lab instance's containers and networks (--all: every instance)")
    .option("--name <name>", "instance name")
    .option("--all", "stop every lvs-lab instance, leftovers of crashed runs included")
    .option("--json", "machine-readable output")
    .action(async (lab: string | undefined, opts: { name?: string; all?: boolean; json?: boolean }) => {
      const began = Date.now();
      const { knownEngines, targetInstance } = await import("./context.js");
      const { stopAllLabs, stopLab } = await import("../lab/session.js");
      const stopped: Array<{ name: string; containers: number; networks: number; engine: string }> = [];
      if (opts.all) {
        for (const engine of await knownEngines()) {
          stopped.push(...(await stopAllLabs(engine)).map((s) => ({ ...s, engine: engine.host })));
        }
      } else {
        if (lab && opts.name && lab !== opts.name) throw new UserError("Give either a lab or --name, not both.");
        const target = await targetInstance(opts.name ?? lab);
        stopped.push({ name: target.name, engine: target.engine.host, ...(await stopLab(target.engine, target.name)) });
      }
      if (opts.json) return printJson({ stopped, seconds: (Date.now() - began) / 1000 });
      if (!stopped.length) return console.log("Nothing to stop.");
      for (const s of stopped) progressLine(`stopped ${s.name}: ${s.containers} containers, ${s.networks} networks removed`);
      progressLine(`done in ${seconds(began)}`);
    });
}
