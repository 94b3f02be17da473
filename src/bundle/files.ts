/** Creating and installing the offline bundle (layout in manifest.ts). Uses tar and, to create, npm. */
import { execa } from "execa";
import { chmodSync, cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Engine } from "../docker/engine.js";
import { labImageRef } from "../docker/image.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { packageRoot } from "../paths.js";
import { VERSION } from "../version.js";
import { BUILT_FILES, cacheRoot, currentRecipeHash, dataDiskName, vmPaths } from "../vm/recipe.js";
import { BIN_LINK, BIN_TARGET, buildManifest, IMAGE_FILE, INSTALL_SCRIPT, installScript, MANIFEST_FILE, PACKAGE_DIR, parseManifest, productionModuleDirs, type Manifest, type PackageManifest } from "./manifest.js";

export type Progress = (line: string) => void;

/** The package.json in `dir`, or undefined where there is none. */
function readPackageManifest(dir: string): PackageManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageManifest;
  } catch {
    return undefined;
  }
}

export async function createBundle(engine: Engine, file: string, opts: { withVm?: boolean }, progress: Progress): Promise<Manifest> {
  const target = resolve(file);
  const ref = labImageRef();
  const imageId = await engine.imageId(ref);
  if (!imageId) throw new UserError(t("errors.noImageToBundle", { ref }), t("errors.buildImageFirst"));
  const vm = opts.withVm ? vmToBundle(imageId, ref) : undefined;
  // Staged beside the target: the image tar is large, and /tmp may be a small tmpfs.
  const staging = await mkdtemp(join(dirname(target), ".lvs-lab-bundle-"));
  try {
    progress("npm pack (the package as npm would publish it)");
    const lib = join(staging, dirname(PACKAGE_DIR));
    mkdirSync(lib, { recursive: true });
    const packed = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", staging], { cwd: packageRoot });
    const tgz = join(staging, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);
    await execa("tar", ["-xzf", tgz, "-C", lib]);
    rmSync(tgz);
    const pkg = join(staging, PACKAGE_DIR);
    renameSync(join(lib, "package"), pkg);

    progress("production dependencies (node_modules)");
    for (const dir of productionModuleDirs((dir) => readPackageManifest(join(packageRoot, dir)))) cpSync(join(packageRoot, dir), join(pkg, dir), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(staging, dirname(BIN_LINK)));
    symlinkSync(BIN_TARGET, join(staging, BIN_LINK));

    progress(`docker save ${ref}`);
    mkdirSync(join(staging, dirname(IMAGE_FILE)));
    await pipeline(await engine.saveImage(ref), createWriteStream(join(staging, IMAGE_FILE)));

    const manifest = buildManifest({ version: VERSION, imageRef: ref, imageId, ...(vm ? { vm: { recipe: vm.recipe, disk: vm.disk } } : {}) });
    writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(staging, INSTALL_SCRIPT), installScript());
    chmodSync(join(staging, INSTALL_SCRIPT), 0o755);
    progress(`writing ${target}`);
    await execa("tar", ["-cf", target, "-C", staging, MANIFEST_FILE, INSTALL_SCRIPT, dirname(PACKAGE_DIR), dirname(BIN_LINK), dirname(IMAGE_FILE)]);
    if (vm) {
      progress("adding the VM's kernel, initramfs, root and data disks (sparse)");
      await execa("tar", ["-rf", target, "--sparse", "-C", dirname(cacheRoot()), ...manifest.vm!.files]);
    }
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The VM files `vm up` needs to boot without building: this recipe's build, and the data disk of this image. */
function vmToBundle(imageId: string, ref: string): { recipe: string; disk: string } {
  const p = vmPaths(cacheRoot(), currentRecipeHash());
  const disk = dataDiskName(imageId, ref);
  const missing = [...BUILT_FILES, disk].map((name) => join(p.recipeDir, name)).filter((f) => !existsSync(f));
  if (missing.length) {
    throw new UserError(t("errors.vmNotPrepared", { ref, missing: missing.join(", ") }), t("errors.vmNotPreparedHint"));
  }
  return { recipe: p.hash, disk };
}

export interface InstallResult {
  manifest: Manifest;
  bin: string;
  image: "loaded" | "present";
  vm: "installed" | "present" | "not in bundle";
}

export async function installBundle(engine: Engine, file: string, prefix: string, progress: Progress): Promise<InstallResult> {
  const bundle = resolve(file);
  if (!existsSync(bundle)) throw new UserError(t("errors.noBundle", { file: bundle }));
  const manifest = parseManifest((await execa("tar", ["-xOf", bundle, MANIFEST_FILE], { reject: false })).stdout || "");
  const root = resolve(prefix);

  progress(`package → ${join(root, PACKAGE_DIR)}`);
  rmSync(join(root, PACKAGE_DIR), { recursive: true, force: true }); // an older version's files must not linger
  mkdirSync(root, { recursive: true });
  await execa("tar", ["-xf", bundle, "-C", root, dirname(PACKAGE_DIR), dirname(BIN_LINK)]);

  let image: InstallResult["image"] = "present";
  if ((await engine.imageId(manifest.image.ref)) !== manifest.image.id) {
    progress(`docker load ${manifest.image.ref}`);
    const tar = execa("tar", ["-xOf", bundle, manifest.image.file], { buffer: false });
    await Promise.all([engine.loadImage(tar.stdout!), tar]);
    const got = await engine.imageId(manifest.image.ref);
    if (got !== manifest.image.id) throw new Error(`after loading, the engine has ${manifest.image.ref} as ${got ?? "nothing"}, expected ${manifest.image.id}`);
    image = "loaded";
  }

  let vm: InstallResult["vm"] = "not in bundle";
  if (manifest.vm) {
    const parent = dirname(cacheRoot());
    const absent = manifest.vm.files.filter((f) => !existsSync(join(parent, f)));
    vm = "present";
    if (absent.length) {
      progress(`VM files → ${join(parent, "vm", manifest.vm.recipe)}`);
      mkdirSync(parent, { recursive: true });
      await execa("tar", ["-xf", bundle, "--sparse", "-C", parent, ...absent]);
      vm = "installed";
    }
  }
  return { manifest, bin: join(root, BIN_LINK), image, vm };
}

/** Bytes the file takes on disk and its apparent length (a bundle holding a sparse disk differs). */
export function sizeOf(file: string): { bytes: number; onDisk: number } {
  const s = statSync(file);
  return { bytes: s.size, onDisk: s.blocks * 512 };
}
