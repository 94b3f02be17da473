import { execa } from "execa";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/lvs-lab.js", import.meta.url));

/** Runs the real binary (built dist/) and never throws: tests assert on exit code and output. */
export async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 600_000) {
  const r = await execa("node", [BIN, ...args], { reject: false, env: { NO_COLOR: "1", ...env }, timeout: timeoutMs });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export async function json<T = unknown>(args: string[], timeoutMs?: number): Promise<T> {
  const r = await cli([...args, "--json"], {}, timeoutMs);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`lvs-lab ${args.join(" ")} --json printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}
