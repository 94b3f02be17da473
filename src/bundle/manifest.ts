/**
 * The offline bundle: one uncompressed tar holding everything a machine without network
 * needs. Pure logic (names, manifest, which node_modules to take); IO is in install.ts/create.ts.
 *
 * Layout inside the tar:
 *   manifest.json                 this file's Manifest
 *   install.sh                    for a machine with only Node and Docker (calls `bundle install`)
 *   lib/lvs-lab/                  the npm package (npm pack contents) with its production node_modules
 *   bin/lvs-lab                   symlink to ../lib/lvs-lab/bin/lvs-lab.js
 *   image/lab.tar                 `docker save` of the lab image
 *   vm/<recipe>/vmlinuz, initrd.cpio, root.img, manifest.txt, docker-<key>.img   (--with-vm; sparse)
 * `tar -xf bundle -C PREFIX lib bin` alone installs the package: no registry, no npm.
 */
import { z } from "zod";
import { BUILT_FILES } from "../vm/recipe.js";

export const BUNDLE_FORMAT = 1;
export const MANIFEST_FILE = "manifest.json";
export const INSTALL_SCRIPT = "install.sh";
export const PACKAGE_DIR = "lib/lvs-lab";
export const BIN_LINK = "bin/lvs-lab";
export const BIN_TARGET = "../lib/lvs-lab/bin/lvs-lab.js";
export const IMAGE_FILE = "image/lab.tar";
export const VM_DIR = "vm";

const manifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  product: z.literal("lvs-lab"),
  version: z.string(),
  createdAt: z.string(),
  image: z.object({ ref: z.string(), id: z.string(), file: z.string() }),
  vm: z.object({ recipe: z.string().regex(/^[0-9a-f]{16}$/), files: z.array(z.string()) }).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export function buildManifest(args: { version: string; imageRef: string; imageId: string; vm?: { recipe: string; disk: string }; now?: Date }): Manifest {
  return {
    format: BUNDLE_FORMAT,
    product: "lvs-lab",
    version: args.version,
    createdAt: (args.now ?? new Date()).toISOString(),
    image: { ref: args.imageRef, id: args.imageId, file: IMAGE_FILE },
    ...(args.vm ? { vm: { recipe: args.vm.recipe, files: vmMembers(args.vm.recipe, args.vm.disk) } } : {}),
  };
}

/** Tar member names of the VM's files: relative to the parent of the VM cache root, which is named vm too. */
export function vmMembers(recipe: string, disk: string): string[] {
  return [...BUILT_FILES, disk].map((f) => `${VM_DIR}/${recipe}/${f}`);
}

export function parseManifest(text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${MANIFEST_FILE} is not JSON: this file is not an lvs-lab bundle`);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) throw new Error(`${MANIFEST_FILE} is not an lvs-lab bundle manifest of format ${BUNDLE_FORMAT}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

/** What the walk reads of a package.json. */
export interface PackageManifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The node_modules directories to copy (relative to the project, "/"-separated, sorted): what
 * the package's dependencies need at run time, found as Node resolves them (the package's own
 * node_modules, then each one above). Optional peers are left out: `npm ls --omit=dev` counts
 * an optional peer that a devDependency installed (i18next's typescript, ink's @types/react)
 * as production. Only the outermost of nested directories is named (copying a package copies
 * its own node_modules). `read(dir)` gives the package.json in `dir`, or undefined.
 */
export function productionModuleDirs(read: (dir: string) => PackageManifest | undefined): string[] {
  const found = new Set<string>();
  const resolve = (from: string, name: string): string | undefined => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
      const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (read(candidate)) return candidate;
      if (!dir) return undefined;
    }
  };
  const visit = (dir: string) => {
    const m = read(dir) ?? {};
    const peers = Object.keys(m.peerDependencies ?? {}).filter((n) => !m.peerDependenciesMeta?.[n]?.optional);
    for (const name of [...Object.keys(m.dependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {}), ...peers]) {
      const at = resolve(dir, name);
      if (at && !found.has(at)) {
        found.add(at);
        visit(at);
      }
    }
  };
  visit("");
  const unique = [...found].sort();
  return unique.filter((d) => !unique.some((outer) => outer !== d && d.startsWith(`${outer}/`)));
}

/** The script a machine with only Node, tar and Docker runs: unpack the package, let it do the rest. */
export function installScript(): string {
  return `#!/bin/sh
# lvs-lab offline install: sh install.sh BUNDLE.tar [PREFIX]   (PREFIX defaults to /usr/local)
# Needs only node (>= 20), tar and a running Docker engine; no network.
set -eu
bundle=\${1:?usage: sh install.sh BUNDLE.tar [PREFIX]}
prefix=\${2:-/usr/local}
case "$bundle" in /*) ;; *) bundle="$PWD/$bundle" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xf "$bundle" -C "$tmp" ${PACKAGE_DIR}
node "$tmp/${PACKAGE_DIR}/bin/lvs-lab.js" bundle install "$bundle" --prefix "$prefix"
`;
}
