import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's own directory (holds labs/, topologies/, image/), from src/ or dist/. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function stateDir(): string {
  return join(process.env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "lvs-lab");
}

/** A user's home directory in /etc/passwd's text (name:x:uid:gid:gecos:home:shell), if listed. */
export function homeInPasswd(passwd: string, user: string): string | undefined {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === user && fields.length >= 7 && isAbsolute(fields[5]!)) return fields[5];
  }
  return undefined;
}

function readPasswd(): string {
  try {
    return readFileSync("/etc/passwd", "utf8");
  } catch {
    return "";
  }
}

/**
 * The home of the user who runs lvs-lab: under sudo the one who typed sudo (SUDO_USER),
 * not root, so that `sudo lvs-lab vm up` builds the VM where that user's own `start`
 * finds it. Elsewhere, and when SUDO_USER is not in /etc/passwd, this process's home.
 */
export function invokingHome(
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
  passwd: () => string = readPasswd,
  home: () => string = homedir,
): string {
  const user = env.SUDO_USER;
  if (uid === 0 && user && user !== "root") return homeInPasswd(passwd(), user) ?? home();
  return home();
}

/** $XDG_CACHE_HOME/lvs-lab (an absolute one; the XDG spec says to ignore a relative one), else ~/.cache/lvs-lab of the invoking user. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, home: string = invokingHome(env)): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, ".cache"), "lvs-lab");
}
