import type { Command } from "commander";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

async function containerOf(node: string, name?: string) {
  const { targetInstance } = await import("../lab/locate.js");
  const target = await targetInstance(name);
  const id = target.containers[node]?.id;
  if (!id) throw new UserError(t("errors.noNode", { name: target.name, node, nodes: Object.keys(target.containers).sort().join(", ") }));
  return { target, id };
}

export function registerShell(program: Command): void {
  program
    .command("shell <node>")
    .description(t("help.shell.about"))
    .option("--name <name>", t("help.option.name"))
    .action(async (node: string, opts: { name?: string }) => {
      const { target, id } = await containerOf(node, opts.name);
      const { interactiveShell } = await import("../docker/shell.js");
      process.exitCode = await interactiveShell(target.engine, id, node);
    });

  program
    .command("exec <node> <command...>")
    .description(t("help.exec.about"))
    .option("--name <name>", t("help.option.name"))
    .action(async (node: string, command: string[], opts: { name?: string }) => {
      const { target, id } = await containerOf(node, opts.name);
      const res = await target.engine.exec(id, command, { timeoutMs: 120_000, what: `"${command.join(" ")}" on ${node}`, once: true });
      process.stdout.write(res.stdout);
      process.stderr.write(res.stderr);
      process.exitCode = res.exitCode;
    });
}
