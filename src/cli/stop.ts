import type { Command } from "commander";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { printJson, progressLine, seconds } from "./output.js";

export function registerStop(program: Command): void {
  program
    .command("stop [lab]")
    .description(t("help.stop.about"))
    .option("--name <name>", t("help.option.name"))
    .option("--all", t("help.stop.all"))
    .option("--json", t("help.option.json"))
    .action(async (lab: string | undefined, opts: { name?: string; all?: boolean; json?: boolean }) => {
      const began = Date.now();
      const { knownEngines, targetInstance } = await import("../lab/locate.js");
      const { stopAllLabs, stopLab } = await import("../lab/session.js");
      const { vmStatus } = await import("../vm/index.js");
      // The VM's answer (an emulated CPU: up to seconds) only labels the output: asked while the removal runs.
      const vmAsked = vmStatus().catch(() => undefined);
      const removed: Array<{ name: string; containers: number; networks: number; engine: string }> = [];
      const engines = opts.all ? await knownEngines() : [];
      if (opts.all) {
        for (const engine of engines) removed.push(...(await stopAllLabs(engine)).map((s) => ({ ...s, engine: engine.host })));
      } else {
        if (lab && opts.name && lab !== opts.name) throw new UserError(t("errors.labOrName"));
        const target = await targetInstance(opts.name ?? lab);
        removed.push({ name: target.name, engine: target.engine.host, ...(await stopLab(target.engine, target.name)) });
      }
      const vm = await vmAsked;
      const inVm = (host: string) => vm?.running === true && host === vm.dockerHost;
      const stopped = removed.map((s) => ({ ...s, inVm: inVm(s.engine) }));
      const notes: string[] = [];
      if (opts.all && vm?.running) notes.push(vmNote(vm.pid, vm.idleMinutes, engines.some((e) => inVm(e.host))));
      else if (opts.all && vm?.stoppedIdle) notes.push(t("vm.afterStopAll.stoppedIdle", { at: vm.stoppedIdle.at, minutes: vm.stoppedIdle.idleMinutes }));
      if (opts.json) {
        const vmJson = vm?.running ? { running: true, pid: vm.pid, dockerHost: vm.dockerHost, idleMinutes: vm.idleMinutes } : { running: false };
        return printJson({ stopped, vm: vmJson, notes, seconds: (Date.now() - began) / 1000 });
      }
      if (!stopped.length) console.log(t("cli.nothingToStop"));
      for (const s of stopped) progressLine(t("cli.stoppedOne", { name: s.name, vm: s.inVm ? t("cli.inVm") : "", containers: t("cli.containerCount", { count: s.containers }), networks: t("cli.networkCount", { count: s.networks }) }));
      for (const n of notes) progressLine(n);
      if (stopped.length) progressLine(t("cli.doneIn", { took: seconds(began) }));
    });
}

/** What --all leaves of the VM: it keeps running empty until its idle stop, unless it did not answer. */
function vmNote(pid: number | undefined, idleMinutes: number | undefined, answered: boolean): string {
  if (!answered) return t("vm.afterStopAll.silent", { pid });
  return idleMinutes ? t("vm.afterStopAll.idle", { pid, minutes: idleMinutes }) : t("vm.afterStopAll.noIdle", { pid });
}
