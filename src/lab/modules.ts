/**
 * Kernel modules that a lab needs and that the engine's kernel has but has not loaded —
 * Docker Desktop's VM, and most distributions' kernels where nobody ran `modprobe` — told
 * apart from modules the kernel does not have at all. A container cannot load modules, so
 * the kernel check (kernel.ts) sees both alike; a one-shot container with the engine host's
 * /lib/modules read-only asks `modinfo`, and with CAP_SYS_MODULE loads them by `modprobe`.
 * Never silently: a learner at a terminal is asked once, a script passes --yes (or runs
 * `doctor --fix`), and anything else gets the command to run and exit 2.
 * Pure except the two engine calls at the end.
 */
import { debugLog } from "../debug.js";
import type { EngineClient } from "../docker/engine.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

/** What each lab requirement loads: the module itself, then the schedulers the labs use. */
export const MODULES_OF: Record<string, readonly string[]> = {
  ip_vs: ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_sed"],
  ipip: ["ipip"],
};

/** loaded: active in the kernel (or built in); module: a .ko in /lib/modules, not loaded; absent: neither. */
export type ModuleState = "loaded" | "module" | "absent";

export interface ModuleReport {
  /** The engine host's kernel release (uname -r in the container). */
  kernel: string;
  modules: Record<string, ModuleState>;
}

/** The modules behind a lab's requirements, in load order (a requirement without modules adds none). */
export function modulesFor(requirements: readonly string[]): string[] {
  return requirements.flatMap((r) => MODULES_OF[r] ?? []);
}

/** Prints kernel=RELEASE, then NAME=loaded|module|absent per module; /sys/module is the host's. */
export function moduleReportScript(modules: readonly string[]): string {
  return [
    'echo "kernel=$(uname -r)"',
    `for m in ${modules.join(" ")}; do`,
    '  if [ -d "/sys/module/$m" ]; then echo "$m=loaded"; continue; fi',
    '  f=$(modinfo -F filename "$m" 2>/dev/null | head -n 1)',
    '  case "$f" in "") echo "$m=absent" ;; "(builtin)") echo "$m=loaded" ;; *) echo "$m=module" ;; esac',
    "done",
  ].join("\n");
}

export function parseModuleReport(output: string, modules: readonly string[]): ModuleReport {
  const seen = new Map<string, string>();
  for (const line of output.split("\n")) {
    const m = /^([\w.-]+)=(\S*)\s*$/.exec(line.trim());
    if (m) seen.set(m[1]!, m[2]!);
  }
  const state = (v: string | undefined): ModuleState => (v === "loaded" || v === "module" ? v : "absent");
  return { kernel: seen.get("kernel") ?? "", modules: Object.fromEntries(modules.map((m) => [m, state(seen.get(m))])) };
}

/**
 * The modules to load so that every missing requirement is met, or undefined when one of
 * them is not in this kernel at all (then only another kernel helps: lvs-lab's VM).
 * A scheduler the kernel lacks is left out: the lab still runs, with fewer schedulers.
 */
export function loadableModules(missing: readonly string[], report: ModuleReport): string[] | undefined {
  if (!missing.length || missing.some((r) => report.modules[r] !== "module")) return undefined;
  return modulesFor(missing).filter((m) => report.modules[m] === "module");
}

/** The command that loads them by hand, as lvs-lab does: a one-shot container of the lab image. */
export function loadCommand(image: string, modules: readonly string[]): string {
  // The lab image has an entrypoint of its own: modprobe replaces it.
  return `docker run --rm --network none --cap-add SYS_MODULE -v /lib/modules:/lib/modules:ro --entrypoint modprobe ${image} -a ${modules.join(" ")}`;
}

export type ModuleAction =
  /** Load without asking: --yes, doctor --fix. */
  | { action: "load"; modules: string[] }
  /** Ask once at the terminal, then load on yes. */
  | { action: "ask"; modules: string[]; question: string }
  | { action: "refuse"; error: UserError };

export interface ModuleDecisionInput {
  labId: string;
  /** Requirements the kernel lacks (ip_vs, ipip). */
  missing: string[];
  /** Loadable modules (loadableModules), not empty. */
  modules: string[];
  kernel: string;
  image: string;
  yes: boolean;
  /** stdin and stderr are terminals: somebody can answer. */
  interactive: boolean;
}

const and = (items: readonly string[]) => items.join(t("vm.and"));

export function moduleAction(i: ModuleDecisionInput): ModuleAction {
  if (i.yes) return { action: "load", modules: i.modules };
  const needs = { lab: i.labId, count: i.missing.length, requirements: and(i.missing), kernel: i.kernel };
  if (i.interactive) return { action: "ask", modules: i.modules, question: t("modules.question", { ...needs, modules: i.modules.join(" ") }) };
  return {
    action: "refuse",
    error: new UserError(t("modules.notLoaded", needs), t("modules.loadHowTo", { lab: i.labId, command: loadCommand(i.image, i.modules) })),
  };
}

/** Answered no at the terminal: nothing was loaded, and what the learner can do instead. */
export function declinedError(labId: string, image: string, modules: readonly string[], vmLane: boolean): UserError {
  return new UserError(t("modules.declined", { lab: labId }), t(vmLane ? "modules.declinedHintVm" : "modules.declinedHint", { lab: labId, command: loadCommand(image, modules) }));
}

// --- IO: through the engine ------------------------------------------------------------

/** undefined where the engine host has no /lib/modules to mount (then nothing can be loaded either). */
export async function reportModules(engine: EngineClient, image: string, modules: readonly string[]): Promise<ModuleReport | undefined> {
  try {
    const res = await engine.runWithHostModules(image, moduleReportScript(modules), "the kernel modules check container", { load: false });
    return parseModuleReport(res.stdout, modules);
  } catch (e) {
    debugLog("modules", `no modules report from ${engine.host}: ${(e as Error).message}`);
    return undefined;
  }
}

/** Loads the modules into the engine host's kernel; a refusal (no CAP_SYS_MODULE there, a user namespace) is one sentence. */
export async function loadModules(engine: EngineClient, image: string, modules: readonly string[]): Promise<void> {
  const res = await engine.runWithHostModules(image, `modprobe -a ${modules.join(" ")}`, "the kernel modules loading container", { load: true });
  if (res.exitCode !== 0) {
    const why = (res.stderr || res.stdout).trim().split("\n")[0] ?? "";
    throw new UserError(t("modules.loadFailed", { modules: modules.join(" "), why: why || `exit ${res.exitCode}` }), t("modules.loadFailedHint", { command: loadCommand(image, modules) }));
  }
}
