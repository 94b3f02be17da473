/**
 * What the host needs for the VM: QEMU to run it, and for the first build debootstrap,
 * cpio and mkfs.ext4 (dpkg-deb comes with dpkg). On Debian/Ubuntu as root lvs-lab can install them
 * itself (`start` asks, `doctor --fix` does it); elsewhere it names the command to run.
 */
import { existsSync } from "node:fs";
import { UserError } from "../errors.js";
import { t as say } from "../i18n/index.js";
import { onPath } from "./run-state.js";
import { QEMU_BIN } from "./settings.js";

export interface MissingTool {
  command: string;
  /** The Debian package that provides it. */
  package: string;
}

const RUN_TOOLS: MissingTool[] = [{ command: QEMU_BIN, package: "qemu-system-x86" }];
const BUILD_TOOLS: MissingTool[] = [
  { command: "debootstrap", package: "debootstrap" },
  { command: "cpio", package: "cpio" },
  { command: "mkfs.ext4", package: "e2fsprogs" },
  { command: "dpkg-deb", package: "dpkg" },
];

/** Every Debian package the VM may need, for `npm run setup` and `doctor --fix`. */
export const VM_PACKAGES = [...RUN_TOOLS, ...BUILD_TOOLS].map((t) => t.package);

/** Tools missing for running the VM and, unless it is already built, for building it. */
export function missingVmTools(built: boolean, has: (command: string) => boolean = onPath): MissingTool[] {
  return [...RUN_TOOLS, ...(built ? [] : BUILD_TOOLS)].filter((t) => !has(t.command));
}

/** apt-get can install them here without asking anybody else: root on Debian or Ubuntu. */
export function canInstallWithApt(): boolean {
  return process.getuid?.() === 0 && existsSync("/etc/debian_version") && onPath("apt-get");
}

/** The one command that installs the packages (with sudo when not root). */
export function installCommand(packages: string[], asRoot: boolean): string {
  return `${asRoot ? "" : "sudo "}apt-get install -y --no-install-recommends ${[...new Set(packages)].join(" ")}`;
}

export function vmToolsError(missing: MissingTool[], debian = existsSync("/etc/debian_version"), asRoot = process.getuid?.() === 0): UserError {
  const commands = missing.map((t) => t.command).join(", ");
  const hint = debian
    ? say("vm.errors.installTools", { count: missing.length, command: installCommand(missing.map((t) => t.package), asRoot), orDoctor: asRoot ? say("vm.errors.orDoctor") : "" })
    : say("vm.errors.installWithPackageManager", { tools: missing.map((t) => (t.command === QEMU_BIN ? "QEMU (qemu-system-x86_64)" : t.command)).join(", ") });
  return new UserError(say("vm.errors.toolsMissing", { count: missing.length, commands }), hint);
}

/** apt-get update + install, quietly; the last lines of output go into the error. */
export async function installVmPackages(packages: string[], onLine: (text: string) => void): Promise<void> {
  const { execa } = await import("execa");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  onLine(say("vm.errors.installing", { packages: packages.join(" ") }));
  const update = await execa("apt-get", ["update", "-qq"], { env, reject: false, all: true });
  const install = await execa("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { env, reject: false, all: true });
  if (install.exitCode !== 0) {
    const tail = `${update.all ?? ""}\n${install.all ?? ""}`.trim().split("\n").slice(-6).join("\n");
    throw new UserError(say("vm.errors.installFailed", { packages: packages.join(" "), code: install.exitCode, log: tail }), say("vm.errors.installFailedHint", { command: installCommand(packages, true) }));
  }
}
