import { describe, expect, it } from "vitest";
import { buildManifest, installScript, parseManifest, productionModuleDirs, vmMembers, type PackageManifest } from "../src/bundle/manifest.js";

describe("offline bundle manifest", () => {
  const now = new Date("2026-11-27T20:00:00Z");

  it("round-trips, with and without the VM", () => {
    const plain = buildManifest({ version: "0.1.0", imageRef: "lvs-lab/lab:8bbfe4a5010e", imageId: "sha256:87ee", now });
    expect(plain).toEqual({ format: 1, product: "lvs-lab", version: "0.1.0", createdAt: "2026-11-27T20:00:00.000Z", image: { ref: "lvs-lab/lab:8bbfe4a5010e", id: "sha256:87ee", file: "image/lab.tar" } });
    expect(parseManifest(JSON.stringify(plain))).toEqual(plain);
    const withVm = buildManifest({ version: "0.1.0", imageRef: "lvs-lab/lab:x", imageId: "sha256:1", vm: { recipe: "71c246848aadb708", disk: "docker-5ecf03ac47b98201.img" }, now });
    expect(parseManifest(JSON.stringify(withVm)).vm).toEqual({
      recipe: "71c246848aadb708",
      files: ["vm/71c246848aadb708/vmlinuz", "vm/71c246848aadb708/initrd.cpio", "vm/71c246848aadb708/root.img", "vm/71c246848aadb708/manifest.txt", "vm/71c246848aadb708/docker-5ecf03ac47b98201.img"],
    });
  });

  it("names the VM's files relative to the VM cache root's parent", () => {
    expect(vmMembers("0123456789abcdef", "docker-a.img")).toContain("vm/0123456789abcdef/docker-a.img");
  });

  it("refuses what is not a bundle, saying why", () => {
    expect(() => parseManifest("PK\u0003\u0004")).toThrow("manifest.json is not JSON: this file is not an lvs-lab bundle");
    expect(() => parseManifest(JSON.stringify({ format: 2, product: "lvs-lab" }))).toThrow(/^manifest.json is not an lvs-lab bundle manifest of format 1: format: /);
  });

  it("walks the run-time dependencies as Node resolves them, without optional peers, outermost directories only", () => {
    const tree: Record<string, PackageManifest> = {
      "": { dependencies: { ink: "6", zod: "4" } },
      "node_modules/ink": { dependencies: { "ansi-styles": "6", "@alcalzone/ansi-tokenize": "0" }, peerDependencies: { react: "19", "@types/react": "19" }, peerDependenciesMeta: { "@types/react": { optional: true } } },
      "node_modules/ink/node_modules/ansi-styles": {},
      "node_modules/ansi-styles": {},
      "node_modules/@alcalzone/ansi-tokenize": { dependencies: { "ansi-styles": "6" } },
      "node_modules/react": {},
      "node_modules/@types/react": {},
      "node_modules/zod": {},
      "node_modules/typescript": {},
    };
    expect(productionModuleDirs((dir) => tree[dir])).toEqual([
      "node_modules/@alcalzone/ansi-tokenize",
      "node_modules/ansi-styles",
      "node_modules/ink",
      "node_modules/react",
      "node_modules/zod",
    ]);
  });

  it("ships an install script that unpacks the package and lets it install the rest", () => {
    const script = installScript();
    expect(script).toMatch(/^#!\/bin\/sh\n/);
    expect(script).toContain('tar -xf "$bundle" -C "$tmp" lib/lvs-lab');
    expect(script).toContain('node "$tmp/lib/lvs-lab/bin/lvs-lab.js" bundle install "$bundle" --prefix "$prefix"');
  });
});
