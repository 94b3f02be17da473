import type { Command } from "commander";
import { t } from "../i18n/index.js";
import type { LabSession } from "../lab/session.js";
import { deleteProgress, loadProgress, saveProgress } from "../state/progress.js";
import { bold, dim, elapsed, printJson, progressLine, seconds } from "./output.js";
import { interruptSignal } from "./signals.js";

/** The lab's addresses and nodes, then how to reach them; `flag` names the instance where commands need it. */
export function describeInstance(s: LabSession, flag: string): string {
  const lines = [bold(`${s.lab.lesson.meta.title}`) + dim(t("cli.instanceOn", { name: s.name, engine: s.engine.host })), ""];
  for (const net of Object.values(s.topology.networks)) lines.push(`  ${t("cli.network")} ${bold(net.name.padEnd(6))} ${net.subnet}`);
  for (const v of Object.entries(s.topology.vips)) lines.push(`  ${v[0].toUpperCase().padEnd(14)} ${v[1].address}`);
  lines.push("");
  for (const node of Object.values(s.topology.nodes)) {
    const addrs = Object.entries(node.addresses)
      .map(([net, a]) => `${a} (${net}${s.ifaces[node.name]?.[net] ? `, ${s.ifaces[node.name]![net]}` : ""})`)
      .join("  ");
    const serves = node.serve.length ? dim(t("cli.servesHttp", { ports: node.serve.join(", ") })) : "";
    lines.push(`  ${bold(node.name.padEnd(9))} ${node.role.padEnd(16)} ${addrs}${serves}`);
  }
  lines.push("", t("cli.shellHowTo", { flag }), t("cli.checkHowTo", { flag }));
  return lines.join("\n");
}

export function registerStart(program: Command): void {
  program
    .command("start <lab>")
    .description(t("help.start.about"))
    .option("--name <name>", t("help.start.name"))
    .option("--vm", t("help.start.vm"))
    .option("--no-vm", t("help.start.noVm"))
    .option("--yes", t("help.start.yes"))
    .option("--lang <lang>", t("help.start.lang"))
    .option("--restart", t("help.start.restart"))
    .option("--no-ui", t("help.start.noUi"))
    .option("--json", t("help.option.json"))
    .action(async (labId: string, opts: { name?: string; vm?: boolean; yes?: boolean; lang?: string; restart?: boolean; ui: boolean; json?: boolean }) => {
      const { placeLab, runningInstance } = await import("../lab/locate.js");
      const { openLab, replaySteps, resetLab, startLab, stopLab, validateInstanceName } = await import("../lab/session.js");
      const name = opts.name ?? labId;
      validateInstanceName(name);
      const signal = interruptSignal();
      // An instance that runs already stays where it is; a new one goes where its kernel modules are.
      const existing = await runningInstance(name, labId);
      const placed = existing ? undefined : await placeLab(labId, { vm: opts.vm, yes: opts.yes, signal }, (await import("./lab-engine.js")).placeHooks());
      const engine = existing?.engine ?? placed!.engine;
      const kernelReport = placed?.kernelReport;
      // The UI needs a terminal on both ends; pipes and --no-ui get plain output.
      const ui = opts.ui && !opts.json && Boolean(process.stdout.isTTY && process.stdin.isTTY);
      const began = Date.now();
      let s: LabSession;
      let reattached = false;

      // An instance of the same lab that already runs is picked up where it was left.
      if (existing) {
        s = await openLab(existing, { lang: opts.lang });
        reattached = true;
        if (opts.restart) {
          progressLine(t("cli.resetting", { name }));
          s = await resetLab(s, 0, { signal });
        }
      } else if (ui) {
        const { withStartupView } = await import("../ui/terminal.js");
        const { loadLab } = await import("../lesson/load.js");
        const lab = await loadLab(labId, { lang: opts.lang });
        s = await withStartupView({ title: lab.lesson.meta.title, instance: name, engineHost: engine.host }, (hooks) =>
          startLab(labId, engine, { name, lang: opts.lang, signal, kernelReport, ...hooks }),
        );
      } else {
        let phaseStart = Date.now();
        s = await startLab(labId, engine, {
          name,
          lang: opts.lang,
          signal,
          kernelReport,
          onImage: (e) => progressLine(t("cli.imageProgress", { line: e.line })),
          onNote: (text) => progressLine(text),
          onPhase: (phase, state, detail) => {
            if (state === "start") {
              phaseStart = Date.now();
              progressLine(t("cli.phaseCreating", { phase: t(`ui.startup.phase.${phase}`), detail: detail ?? "" }));
            } else progressLine(t("cli.phaseReady", { phase: t(`ui.startup.phase.${phase}`), took: seconds(phaseStart) }));
          },
        });
      }
      if (opts.restart) await deleteProgress(s.name);
      const { progress, backedUpTo } = await loadProgress(s.name, labId);
      if (backedUpTo) progressLine(t("cli.progressMoved", { path: backedUpTo }));
      await saveProgress(s.name, progress);
      if (!reattached && progress.step > 0) {
        // Fresh containers for a learner who had got further: replay the steps done so far.
        await replaySteps(s, progress.step, (i) => progressLine(t("cli.restoring", { n: i + 1, title: s.lab.lesson.steps[i]!.title })));
      }
      const nameFlag = await (await import("./context.js")).nameFlagFor(s.name, labId);

      if (ui) {
        const [{ runLesson }, { createController }, { interactiveShell }] = await Promise.all([
          import("../ui/terminal.js"),
          import("../ui/controller.js"),
          import("../docker/shell.js"),
        ]);
        // The UI reaches the engine only through these: the kernel for its header, a terminal exec for shells.
        const kernel = await s.engine.info().then((i) => i.kernel, () => undefined);
        const controller = createController(s, progress, { kernel, interactiveShell: (id, node) => interactiveShell(engine, id, node), nameFlag });
        // Joined to a class: the screen's checks and progress are reported, offers come in.
        const classLink = await (await import("../class/ui-link.js")).linkToClass(controller);
        const outcome = await runLesson(classLink?.controller ?? controller, progress, { signal });
        await classLink?.close();
        if (outcome.stop) {
          progressLine(t("cli.stopping", { name: s.name }));
          const removed = await stopLab(outcome.session.engine, s.name);
          console.log(t("cli.stopped", { name: s.name, containers: t("cli.containerCount", { count: removed.containers }), networks: t("cli.networkCount", { count: removed.networks }) }));
        } else {
          console.log(t("cli.keepsRunning", { name: s.name }));
          console.log(t("cli.carryOn", { lab: labId, flag: nameFlag }));
        }
        return;
      }

      progressLine(reattached ? t("cli.reattached", { name: s.name }) : t("cli.labReady", { took: seconds(began) }));
      const step = s.lab.lesson.steps[progress.step]!;
      if (opts.json) {
        const { sessionDetails } = await import("./instance-details.js");
        printJson({
          instance: s.name,
          lab: labId,
          engine: s.engine.host,
          reattached,
          step: { number: progress.step + 1, id: step.id, title: step.title, of: s.lab.lesson.steps.length },
          passed: progress.passed,
          ...sessionDetails(s),
          seconds: elapsed(began),
        });
        return (await import("../class/report.js")).tellClass(s, { type: "start", progress }, { json: true, nameFlag });
      }
      console.log(describeInstance(s, nameFlag));
      const done = progress.passed.length ? t("cli.passedSoFar", { count: progress.passed.length }) : "";
      console.log(t("cli.startStep", { n: progress.step + 1, of: s.lab.lesson.steps.length, title: bold(step.title), done, flag: nameFlag }));
      await (await import("../class/report.js")).tellClass(s, { type: "start", progress }, { nameFlag });
    });
}
