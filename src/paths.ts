import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's own directory (holds labs/, topologies/, image/), from src/ or dist/. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function stateDir(): string {
  return join(process.env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "lvs-lab");
}

export function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "lvs-lab");
}
