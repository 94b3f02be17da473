/**
 * Interactive shells on lab nodes, through the engine API as `docker exec -it` does it: an
 * exec with a TTY, the terminal in raw mode wired to it both ways, its size followed on
 * SIGWINCH. No docker binary is needed.
 */
import type { Engine } from "./engine.js";

export function shellCommand(node: string): { cmd: string[]; env: Record<string, string> } {
  return { cmd: ["bash", "--norc", "-i"], env: { PS1: `${node}:\\w# `, TERM: process.env.TERM || "xterm" } };
}

/** Runs a shell on the node with this terminal attached; resolves with its exit code. */
export async function interactiveShell(engine: Engine, id: string, node: string): Promise<number> {
  const { stdin, stdout } = process;
  const size = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const { cmd, env } = shellCommand(node);
  const shell = await engine.terminalExec(id, cmd, env, size());
  const raw = stdin.isTTY === true;
  const onResize = () => void shell.resize(size());
  if (raw) stdin.setRawMode(true);
  process.on("SIGWINCH", onResize);
  // Engines before API 1.42 ignore the size given at creation: set it once the exec runs, as the docker CLI does.
  onResize();
  try {
    await new Promise<void>((resolve, reject) => {
      // With a TTY the exec's output is one raw stream, not Docker's multiplexed frames.
      shell.stream.pipe(stdout, { end: false });
      stdin.pipe(shell.stream);
      stdin.resume();
      shell.stream.on("end", resolve);
      shell.stream.on("close", resolve);
      shell.stream.on("error", reject);
    });
  } finally {
    process.off("SIGWINCH", onResize);
    stdin.unpipe(shell.stream);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  }
  return shell.exitCode();
}
