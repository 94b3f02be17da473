import type { Command } from "commander";
import { startLab, type LabSession } from "../lab/session.js";
import { deleteProgress, loadProgress, saveProgress } from "../state/progress.js";
import { engineFor } from "./context.js";
import { bold, dim, progressLine, seconds } from "./output.js";
import { interruptSignal } from "./signals.js";

export function describeInstance(s: LabSession): string {
  const lines = [bold(`${s.lab.lesson.meta.title}`) + dim(`  (instance ${s.name}, engine ${s.engine.host})`), ""];
  for (const net of Object.values(s.topology.networks)) lines.push(`  network ${bold(net.name.padEnd(6))} ${net.subnet}`);
  for (const v of Object.entries(s.topology.vips)) lines.push(`  ${v[0].toUpperCase().padEnd(14)} ${v[1].address}`);
  lines.push("");
  for (const node of Object.values(s.topology.nodes)) {
    const addrs = Object.entries(node.addresses)
      .map(([net, a]) => `${a} (${net}${s.ifaces[node.name]?.[net] ? `, ${s.ifaces[node.name]![net]}` : ""})`)
      .join("  ");
    const serves = node.serve.length ? dim(`  serves HTTP on ${node.serve.join(", ")}`) : "";
    lines.push(`  ${bold(node.name.padEnd(9))} ${node.role.padEnd(16)} ${addrs}${serves}`);
  }
  lines.push("", `Shell on a node:  lvs-lab shell <node>${s.name !== s.lab.lesson.meta.id ? ` --name ${s.name}` : ""}`);
  lines.push(`Check your work:  lvs-lab check     Stop:  lvs-lab stop${s.name !== s.lab.lesson.meta.id ? ` --name ${s.name}` : ""}`);
  return lines.join("\n");
}

export function registerStart(program: Command): void {
  program
    .command("start <lab>")
    .description("create a lab's containers and networks and show the lesson")
    .option("--name <name>", "instance name (default: the lab's id), to run several side by side")
    .option("--vm", "run in the lvs-lab VM (a kernel with ip_vs and ipip)")
    .option("--lang <lang>", "lesson language (default: from the locale)")
    .option("--restart", "forget saved progress and start at step 1")
    .option("--no-ui", "plain output instead of the terminal UI")
    .action(async (labId: string, opts: { name?: string; vm?: boolean; lang?: string; restart?: boolean; ui: boolean }) => {
      const engine = await engineFor(opts);
      const began = Date.now();
      let phaseStart = Date.now();
      const s = await startLab(labId, engine, {
        name: opts.name,
        lang: opts.lang,
        signal: interruptSignal(),
        onImage: (e) => progressLine(`image: ${e.line}`),
        onPhase: (phase, state, detail) => {
          if (state === "start") {
            phaseStart = Date.now();
            progressLine(`${phase}: creating ${detail ?? ""}`);
          } else progressLine(`${phase}: ready in ${seconds(phaseStart)}`);
        },
      });
      if (opts.restart) await deleteProgress(s.name);
      const { progress } = await loadProgress(s.name, labId);
      await saveProgress(s.name, progress);
      progressLine(`lab ready in ${seconds(began)}`);
      console.log(describeInstance(s));
      const step = s.lab.lesson.steps[progress.step]!;
      console.log(`\nStep ${progress.step + 1} of ${s.lab.lesson.steps.length}: ${bold(step.title)}  (\`lvs-lab check\` when done)`);
    });
}
