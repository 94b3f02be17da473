/**
 * Where a lab runs, decided without asking the learner for commands: on the local engine
 * when its kernel has the modules the lab needs (loaded, or loaded after the question of
 * modules.ts), else in lvs-lab's VM, which `start` boots by itself — on Linux: the VM
 * needs QEMU, debootstrap, root and chroot, so macOS and Windows have no VM lane. And what
 * to do when QEMU is missing. Pure; src/lab/locate.ts does the IO.
 */
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

export type Placement = { where: "host" } | { where: "vm"; why: string };

export interface PlacementInput {
  labId: string;
  /** Modules the lab needs that the local engine's kernel lacks. */
  missing: string[];
  hostKernel: string;
  /** --vm: true, --no-vm: false, neither: undefined. */
  vm?: boolean;
  /** process.platform: only Linux has the VM lane. */
  platform: NodeJS.Platform;
}

const list = (items: string[]) => items.join(t("vm.and"));

/** lvs-lab's VM runs where QEMU, debootstrap and chroot do: on Linux. */
export function hasVmLane(platform: NodeJS.Platform): boolean {
  return platform === "linux";
}

/** The one line for a platform without the VM lane (macOS, Windows). */
export function noVmLaneLine(platform: NodeJS.Platform): string {
  const name = platform === "darwin" ? "macOS" : platform === "win32" ? "Windows" : platform;
  return t("vm.platform.noVmLane", { platform: name });
}

/** The VM when asked or needed; --no-vm, or no VM lane, on a kernel without the modules is refused (exit 2). */
export function choosePlacement(i: PlacementInput): Placement {
  const vmLane = hasVmLane(i.platform);
  if (i.vm === true) {
    if (!vmLane) throw new UserError(noVmLaneLine(i.platform));
    return { where: "vm", why: "--vm" };
  }
  if (!i.missing.length) return { where: "host" };
  if (i.vm === false || !vmLane) {
    throw new UserError(
      t("vm.placement.needsModules", { lab: i.labId, count: i.missing.length, modules: list(i.missing), kernel: i.hostKernel }),
      vmLane ? t("vm.placement.loadModules", { commands: list(i.missing.map((m) => `\`modprobe ${m}\``)) }) : noVmLaneLine(i.platform),
    );
  }
  return {
    where: "vm",
    why: t("vm.placement.runsInVm", { lab: i.labId, modules: list(i.missing), kernel: i.hostKernel }),
  };
}

export interface VmReadiness {
  running: boolean;
  built: boolean;
  diskReady: boolean;
}

export interface PhaseSeconds {
  build: number;
  disk: number;
  boot: number;
}

/** "45 s", "4 min", "1 h 5 min": an estimate, so rounded. */
export function roughDuration(seconds: number): string {
  if (seconds < 90) return t("vm.duration.seconds", { n: Math.max(5, Math.round(seconds / 5) * 5) });
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? t("vm.duration.minutes", { n: minutes }) : t("vm.duration.hours", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

/** What getting the VM's engine costs this time, in one sentence. */
export function vmCostLine(r: VmReadiness, s: PhaseSeconds): string {
  if (r.running) return t("vm.cost.running");
  if (!r.built) {
    return t("vm.cost.firstTime", { total: roughDuration(s.build + s.disk + s.boot), boot: roughDuration(s.boot) });
  }
  if (!r.diskReady) return t("vm.cost.newImage", { total: roughDuration(s.disk + s.boot), boot: roughDuration(s.boot) });
  return t("vm.cost.boot", { boot: roughDuration(s.boot) });
}

export type QemuAction =
  | { action: "ready" }
  /** Ask once on the terminal, then install `packages` with apt-get. */
  | { action: "ask"; packages: string[] }
  | { action: "refuse"; error: UserError };

export interface QemuInput {
  /** Debian packages of the missing tools (empty: nothing missing). */
  missingPackages: string[];
  /** Root on Debian/Ubuntu with apt-get. */
  aptAsRoot: boolean;
  /** stdin and stderr are terminals: somebody can answer. */
  interactive: boolean;
  /** The error naming the one command to run, for when lvs-lab cannot or may not install. */
  refusal: UserError;
}

export function qemuAction(i: QemuInput): QemuAction {
  if (!i.missingPackages.length) return { action: "ready" };
  if (i.aptAsRoot && i.interactive) return { action: "ask", packages: i.missingPackages };
  return { action: "refuse", error: i.refusal };
}

/** Yes unless the answer starts with n (Enter alone is yes, as the [Y/n] says). */
export function isYes(answer: string): boolean {
  return !/^\s*n/i.test(answer);
}
