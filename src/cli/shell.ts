import type { Command } from "commander";
import { execa } from "execa";
import { UserError } from "../errors.js";
import { targetInstance } from "./context.js";

/** The docker CLI runs interactive sessions (a TTY is its job); lvs-lab finds the container. */
async function dockerCli(dockerHost: string, args: string[], interactive: boolean): Promise<number> {
  const result = await execa("docker", args, {
    env: { DOCKER_HOST: dockerHost },
    stdio: interactive ? "inherit" : ["ignore", "inherit", "inherit"],
    reject: false,
  }).catch((e: { code?: string }) => {
    if (e.code === "ENOENT") throw new UserError("The docker command is not installed; it is needed for interactive shells.", "Install it (Debian: apt-get install docker.io).");
    throw e;
  });
  return result.exitCode ?? 1;
}

async function containerOf(node: string, name?: string) {
  const target = await targetInstance(name);
  const id = target.containers[node];
  if (!id) throw new UserError(`Instance "${target.name}" has no node "${node}" (nodes: ${Object.keys(target.containers).sort().join(", ")}).`);
  return { target, id };
}

export function shellArgs(id: string, node: string): string[] {
  return ["exec", "-it", "-e", `PS1=${node}:\\w# `, id, "bash", "--norc", "-i"];
}

export function registerShell(program: Command): void {
  program
    .command("shell <node>")
    .description("open an interactive shell on a node")
    .option("--name <name>", "instance name")
    .action(async (node: string, opts: { name?: string }) => {
      const { target, id } = await containerOf(node, opts.name);
      process.exitCode = await dockerCli(target.engine.host, shellArgs(id, node), true);
    });

  program
    .command("exec <node> <command...>")
    .description("run one command on a node: lvs-lab exec rs1 -- ip route")
    .option("--name <name>", "instance name")
    .action(async (node: string, command: string[], opts: { name?: string }) => {
      const { target, id } = await containerOf(node, opts.name);
      const res = await target.engine.exec(id, command, { timeoutMs: 120_000, what: `"${command.join(" ")}" on ${node}` });
      process.stdout.write(res.stdout);
      process.stderr.write(res.stderr);
      process.exitCode = res.exitCode;
    });
}
