/**
 * Where a lab runs, decided without asking the learner for commands: on the local engine
 * when its kernel has the modules the lab needs, else in lvs-lab's VM, which `start` boots
 * by itself. And what to do when QEMU is missing. Pure; src/cli/lab-engine.ts does the IO.
 */
import { UserError } from "../errors.js";

export type Placement = { where: "host" } | { where: "vm"; why: string };

export interface PlacementInput {
  labId: string;
  /** Modules the lab needs that the local engine's kernel lacks. */
  missing: string[];
  hostKernel: string;
  /** --vm: true, --no-vm: false, neither: undefined. */
  vm?: boolean;
}

const list = (items: string[]) => items.join(" and ");

/** The VM when asked or needed; --no-vm on a kernel without the modules is refused (exit 2). */
export function choosePlacement(i: PlacementInput): Placement {
  if (i.vm === true) return { where: "vm", why: "--vm" };
  if (!i.missing.length) return { where: "host" };
  if (i.vm === false) {
    throw new UserError(
      `Lab ${i.labId} needs the kernel module${i.missing.length > 1 ? "s" : ""} ${list(i.missing)}, which the kernel running Docker (${i.hostKernel}) does not have.`,
      `Load ${i.missing.map((m) => `\`modprobe ${m}\``).join(" and ")} on the Docker host, or leave out --no-vm: lvs-lab then runs the lab in its own VM.`,
    );
  }
  return {
    where: "vm",
    why: `Lab ${i.labId} needs ${list(i.missing)}, which this machine's kernel (${i.hostKernel}) lacks: it runs in lvs-lab's VM, a Debian kernel under QEMU.`,
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
  if (seconds < 90) return `${Math.max(5, Math.round(seconds / 5) * 5)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** What getting the VM's engine costs this time, in one sentence. */
export function vmCostLine(r: VmReadiness, s: PhaseSeconds): string {
  if (r.running) return "The VM is already running.";
  if (!r.built) {
    return `First time: building the VM from Debian packages and copying the lab image into it, about ${roughDuration(s.build + s.disk + s.boot)} (later starts about ${roughDuration(s.boot)}).`;
  }
  if (!r.diskReady) return `This lab image is new to the VM: copying it in takes about ${roughDuration(s.disk + s.boot)}, once (later starts about ${roughDuration(s.boot)}).`;
  return `Booting it takes about ${roughDuration(s.boot)}.`;
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
