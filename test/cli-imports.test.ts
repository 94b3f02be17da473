/**
 * Each command loads what it needs when it runs: `--help`, `--version` and `list` must not
 * pay for the engine client or the terminal UI (ink, React), nor for a child-process library.
 * Checked on the static import graph, as tsc emits it (imports used only as types vanish).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../src/", import.meta.url));
const HEAVY = ["dockerode", "ink", "react", "execa", "markdown-it", "yaml"];

/** Module specifiers a file loads at once: its emitted static imports and re-exports, not `import()`. */
function staticImports(file: string): string[] {
  const js = ts.transpileModule(readFileSync(file, "utf8"), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, jsx: ts.JsxEmit.ReactJSX },
  }).outputText;
  return [...js.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)].map((m) => (m[1] ?? m[2])!);
}

function sourceOf(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier).replace(/\.js$/, "");
  for (const ext of [".ts", ".tsx"]) {
    try {
      readFileSync(base + ext);
      return base + ext;
    } catch {
      /* try the next */
    }
  }
  throw new Error(`${from} imports ${specifier}, which has no source`);
}

/** Every package (and node: builtin) loaded with `entry`, and the project files on the way. */
function closure(entry: string): { packages: Set<string>; files: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) visit(sourceOf(file, spec));
      else packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
    }
  };
  visit(join(src, entry));
  return { packages, files };
}

describe("what a command loads before it runs", () => {
  it("the command line itself (--help, --version, parsing) loads no engine client, UI, lesson parser or child-process library", () => {
    const { packages, files } = closure("cli/main.ts");
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
    expect([...files].map((f) => f.slice(src.length)).filter((f) => /^(docker|lab|ui|vm|lesson)\//.test(f))).toEqual([]);
  });

  it("`list` loads the lessons, not the engine client or the UI", () => {
    const { packages } = closure("lesson/load.ts");
    expect(["dockerode", "ink", "react", "execa"].filter((p) => packages.has(p))).toEqual([]);
  });

  it("the engine module loads no package at once but the catalogue the command line has loaded: dockerode comes with the first engine", () => {
    const cli = closure("cli/main.ts").packages;
    expect([...closure("docker/engine.ts").packages].filter((p) => !p.startsWith("node:") && !cli.has(p))).toEqual([]);
  });

  it("dockerode is the engine client of src/docker/api.ts alone, loaded there with import()", () => {
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => /\.tsx?$/.test(f));
    const importing = files.filter((f) => /from "dockerode"|import\("dockerode"\)/.test(readFileSync(join(src, f), "utf8").replace(/import type [^;]+;/g, "")));
    expect(importing).toEqual(["docker/api.ts"]);
    expect(readFileSync(join(src, "docker/api.ts"), "utf8")).toContain('import("dockerode")');
  });

  it("the import graph is what it claims: the lesson loader loads its parsers", () => {
    expect(["markdown-it", "yaml", "zod"].filter((p) => !closure("lesson/load.ts").packages.has(p))).toEqual([]);
  });
});
