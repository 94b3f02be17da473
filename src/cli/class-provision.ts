/**
 * `lvs-lab class provision`: one lab instance per learner on this server (or the VM),
 * started side by side, each fenced off from the others and from the host.
 */
import { Command } from "commander";
import { readFile } from "node:fs/promises";
import { UserError } from "../errors.js";
import type { ProvisionResult } from "../lab/provision.js";
import { bold, printJson, progressLine, red } from "./output.js";

/** Starts at most this many at once by default: on 2 cores more only queue in the engine. */
const DEFAULT_PARALLEL = 4;

export function provisionCommand(): Command {
  return new Command("provision")
    .description("start one instance of a lab per learner (names prefix-01 … or a roster file), each isolated from the others and the host")
    .requiredOption("--lab <lab>", "the lab every learner gets")
    .option("--count <n>", "how many learners (names <prefix>-01 …)")
    .option("--prefix <prefix>", "name prefix with --count", "learner")
    .option("--roster <file>", "instance names, one a line, instead of --count")
    .option("--parallel <n>", "starts at a time", String(DEFAULT_PARALLEL))
    .option("--vm", "in the lvs-lab VM")
    .option("--json", "machine-readable output")
    .action(async (opts: { lab: string; count?: string; prefix: string; roster?: string; parallel: string; vm?: boolean; json?: boolean }) => {
      if (Boolean(opts.count) === Boolean(opts.roster)) throw new UserError("Give either --count or --roster.");
      const { numberedNames, parseRoster, provisionClass } = await import("../lab/provision.js");
      const { engineFor } = await import("./context.js");
      const names = opts.roster
        ? parseRoster(await readFile(opts.roster, "utf8").catch(() => Promise.reject(new UserError(`Cannot read the roster ${opts.roster}.`))))
        : numberedNames(opts.prefix, Number(opts.count));
      const parallel = Number(opts.parallel);
      if (!Number.isInteger(parallel) || parallel < 1) throw new UserError("--parallel must be a whole number, at least 1.");
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
        console.log(`${bold(`${results.length - failed.length} of ${results.length}`)} instances of ${opts.lab} run on ${engine.host} (${seconds.toFixed(1)} s).`);
        console.log(`Each learner: lvs-lab start ${opts.lab} --name <their name>${opts.vm ? " --vm" : ""}`);
      }
      if (failed.length) process.exitCode = 1;
    });
}

function describe(r: ProvisionResult): string {
  const warn = r.notes.filter((n) => n.startsWith("warning:"));
  if (r.state === "failed") return red(`${r.name}: failed after ${r.seconds.toFixed(1)} s: ${r.error}`);
  return `${r.name}: ${r.state === "running" ? "already running" : `started in ${r.seconds.toFixed(1)} s`}${warn.length ? `; ${warn.join("; ")}` : ""}`;
}
