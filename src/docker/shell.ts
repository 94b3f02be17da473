/**
 * Interactive shells on lab nodes. A terminal session is the docker CLI's job (TTY size,
 * raw mode, signals), so lvs-lab finds the container and hands the terminal to
 * `docker exec -it`, pointed at the same engine.
 */
import { execa } from "execa";
import { UserError } from "../errors.js";

export function shellArgs(id: string, node: string): string[] {
  return ["exec", "-it", "-e", `PS1=${node}:\\w# `, id, "bash", "--norc", "-i"];
}

/** Runs a shell on the node with the terminal handed over; resolves with its exit code. */
export async function interactiveShell(dockerHost: string, id: string, node: string): Promise<number> {
  const result = await execa("docker", shellArgs(id, node), { env: { DOCKER_HOST: dockerHost }, stdio: "inherit", reject: false }).catch(
    (e: { code?: string }) => {
      if (e.code === "ENOENT") throw new UserError("The docker command is not installed; it is needed for interactive shells.", "Install it (Debian: apt-get install docker.io).");
      throw e;
    },
  );
  return result.exitCode ?? 1;
}
