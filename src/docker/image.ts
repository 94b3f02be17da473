/**
 * The lab image: built from image/Dockerfile, tagged with a hash of its recipe so a
 * changed recipe is never mistaken for the image already there.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { packageRoot } from "../paths.js";
import type { Engine, EngineClient } from "./engine.js";
import { productLabels } from "./labels.js";

export const IMAGE_REPO = "lvs-lab/lab";
export const REGISTRY_BASE = "debian:bookworm-slim";
export const LOCAL_BASE = "lvs-lab/base:bookworm";
const IMAGE_FILES = ["Dockerfile", "responder.py", "init.sh", "monitor.py"];
const imageDir = join(packageRoot, "image");

/** Packages of the debootstrap base: the Dockerfile's list, so its apt step has little left to do. */
const BASE_PACKAGES = [
  "iproute2", "net-tools", "iptables", "nftables", "ipvsadm", "keepalived", "curl", "tcpdump", "conntrack",
  "iputils-ping", "procps", "python3-minimal", "kmod", "ca-certificates",
];

export function imageRecipeHash(): string {
  const hash = createHash("sha256");
  for (const f of IMAGE_FILES) hash.update(f).update(readFileSync(join(imageDir, f)));
  return hash.digest("hex").slice(0, 12);
}

export function labImageRef(): string {
  return `${IMAGE_REPO}:${imageRecipeHash()}`;
}

export type BuildEvent = { phase: "base" | "build"; line: string };

/** Builds the lab image unless it is already there; returns its reference. */
export async function ensureLabImage(engine: EngineClient, onEvent: (e: BuildEvent) => void, opts: { base?: string; force?: boolean } = {}): Promise<string> {
  const ref = labImageRef();
  if (!opts.force && (await engine.imageExists(ref))) return ref;
  const base = opts.base ?? (await ensureBaseImage(engine, onEvent));
  onEvent({ phase: "build", line: t("ui.startup.image.building", { ref, base }) });
  await engine.buildImage(imageDir, IMAGE_FILES, ref, { BASE: base }, productLabels(), (line) => onEvent({ phase: "build", line }));
  return ref;
}

/** debian:bookworm-slim where it can be had; otherwise a debootstrap of bookworm. */
async function ensureBaseImage(engine: EngineClient, onEvent: (e: BuildEvent) => void): Promise<string> {
  if (await engine.imageExists(REGISTRY_BASE)) return REGISTRY_BASE;
  if (await engine.imageExists(LOCAL_BASE)) return LOCAL_BASE;
  onEvent({ phase: "base", line: t("ui.startup.image.pulling", { ref: REGISTRY_BASE }) });
  if (await engine.pullImage(REGISTRY_BASE).then(() => true, () => false)) return REGISTRY_BASE;
  onEvent({ phase: "base", line: t("ui.startup.image.noRegistry", { ref: LOCAL_BASE }) });
  await debootstrapBase(engine, onEvent);
  return LOCAL_BASE;
}

export function debootstrapInstructions(): string {
  const commands = [
    "  apt-get install -y debootstrap",
    `  debootstrap --variant=minbase --include=${BASE_PACKAGES.join(",")} bookworm /tmp/lvs-lab-root`,
    `  tar -C /tmp/lvs-lab-root -c . | docker import - ${LOCAL_BASE}`,
  ];
  return t("errors.debootstrapHowTo", { commands: commands.join("\n") });
}

async function debootstrapBase(engine: EngineClient, onEvent: (e: BuildEvent) => void): Promise<void> {
  // execa only for this rare path: every start imports this module.
  const { execa } = await import("execa");
  const isRoot = process.getuid?.() === 0;
  const hasDebootstrap = existsSync("/usr/sbin/debootstrap");
  const isDebian = existsSync("/etc/debian_version");
  if (!isRoot || !isDebian) {
    throw new UserError(t("errors.noBaseImageHere"), debootstrapInstructions());
  }
  if (!hasDebootstrap) {
    onEvent({ phase: "base", line: t("ui.startup.image.installingDebootstrap") });
    await execa("apt-get", ["install", "-y", "debootstrap"], { env: { DEBIAN_FRONTEND: "noninteractive" } });
  }
  const dir = await mkdtemp(join(tmpdir(), "lvs-lab-root-"));
  try {
    const run = execa("debootstrap", ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, "bookworm", dir, "http://deb.debian.org/debian"], { all: true, buffer: false });
    run.all?.on("data", (b: Buffer) => {
      for (const line of b.toString().split("\n")) if (line.trim()) onEvent({ phase: "base", line: line.trim() });
    });
    await run.catch((e: { shortMessage?: string }) => {
      throw new UserError(t("errors.debootstrapFailed", { error: e.shortMessage ?? String(e) }), debootstrapInstructions());
    });
    onEvent({ phase: "base", line: t("ui.startup.image.importing", { ref: LOCAL_BASE }) });
    const tar = execa("tar", ["-C", dir, "-c", "."], { buffer: false });
    const [repo, tag] = LOCAL_BASE.split(":") as [string, string];
    await Promise.all([engine.importImage(tar.stdout!, repo, tag), tar]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function saveLabImage(engine: Engine, file: string): Promise<string> {
  const ref = labImageRef();
  if (!(await engine.imageExists(ref))) throw new UserError(t("errors.noImageToSave", { ref }), t("errors.buildImageFirst"));
  await pipeline(await engine.saveImage(ref), createWriteStream(file));
  return ref;
}

export async function loadLabImage(engine: Engine, file: string): Promise<void> {
  if (!existsSync(file)) throw new UserError(t("errors.noFileToLoad", { file }));
  await engine.loadImage(createReadStream(file));
}
