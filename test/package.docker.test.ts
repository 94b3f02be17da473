/**
 * The npm package as a learner meets it: `npm pack` of this checkout (built by prepack),
 * installed into an empty prefix — lvs-lab from the tarball, never from a registry; its
 * dependencies from the npm cache or registry — then `selftest dnat` from the installed
 * copy against the real engine, and the README's first command run from the tarball with
 * npx. `npm publish --dry-run` must print no warning.
 */
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
let dir: string;
let tarball: string;
let env: Record<string, string>;

/** npm's warnings in an output, one per line. */
const warnings = (output: string) => output.split("\n").filter((l) => /^npm warn/i.test(l));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lvs-lab-package-"));
  env = {
    ...(process.env as Record<string, string>),
    NO_COLOR: "1",
    // This test's own progress and instance records, and no VM of anyone else's.
    XDG_STATE_HOME: join(dir, "state"),
    XDG_CACHE_HOME: join(dir, "cache"),
  };
  const packed = await execa("npm", ["pack", "--pack-destination", dir], { cwd: root, env });
  tarball = join(dir, packed.stdout.trim().split("\n").pop()!);
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the npm package", () => {
  it("ships what runs: dist without maps or benchmarks, the labs, topologies, image, VM recipe, schema and LICENSE", async () => {
    const files = (await execa("tar", ["-tzf", tarball])).stdout.split("\n").map((f) => f.replace(/^package\//, ""));
    expect(files.filter((f) => f.endsWith(".map") || f.startsWith("dist/bench/") || f.startsWith("scripts/"))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining(["LICENSE", "README.md", "bin/lvs-lab.js", "dist/cli/main.js", "labs/dnat.md", "labs/zh-CN/dnat.md", "topologies/dnat.yaml", "image/Dockerfile", "vm/run.sh", "schema/check-report.schema.json"]),
    );
    // Every link of the README resolves from the package: a file it ships, or an absolute URL.
    const readme = await readFile(join(root, "README.md"), "utf8");
    const local = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/.test(href));
    expect(local.filter((href) => !files.includes(href))).toEqual([]);
    const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
    expect(manifest).toMatchObject({ license: "MIT", repository: { url: "git+https://github.com/lvs-lab/lvs-lab.git" }, homepage: expect.stringMatching(/^https:/), bugs: { url: expect.stringMatching(/^https:/) } });
    expect(manifest.scripts.prepare).toBeUndefined();
    expect(await readFile(join(root, "LICENSE"), "utf8")).toMatch(/^MIT License/);
  });

  it("npm publish --dry-run prints no warning (logged in: the login is not the package's concern)", async () => {
    // A token for the dry run only: without one npm warns that publishing needs a login.
    const npmrc = join(dir, "npmrc");
    await execa("sh", ["-c", `echo '//registry.npmjs.org/:_authToken=dry-run-only' > ${npmrc}`]);
    const r = await execa("npm", ["publish", "--dry-run", "--userconfig", npmrc], { cwd: root, env, all: true });
    expect(warnings(r.all)).toEqual([]);
    expect(r.all).toContain("+ lvs-lab@");
  }, 600_000);

  it("installs into an empty prefix from the tarball, no warning of its own, and selftest dnat passes from the installed copy", async () => {
    const prefix = join(dir, "prefix");
    const install = await execa("npm", ["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", tarball], { env, all: true });
    // npm 11's advisory on install scripts names only dockerode's dependencies (ssh2's optional
    // native crypto, cpu-features, protobufjs): lvs-lab itself runs no script on install.
    const own = warnings(install.all).filter((l) => !l.startsWith("npm warn install-scripts"));
    expect(own).toEqual([]);
    expect(install.all).not.toMatch(/lvs-lab@[\d.]+ \((?:pre|post)?install|prepare/);
    // lvs-lab came from the tarball, not from a registry: the installed copy is the tarball's, file for file.
    const installed = join(prefix, "lib", "node_modules", "lvs-lab");
    const shipped = (await execa("tar", ["-tzf", tarball])).stdout.split("\n").filter((f) => !f.endsWith("/")).map((f) => f.replace(/^package\//, ""));
    const present = (await execa("find", [".", "-type", "f", "-not", "-path", "./node_modules/*"], { cwd: installed })).stdout.split("\n").map((f) => f.replace(/^\.\//, ""));
    expect(present.sort()).toEqual(shipped.sort());
    const main = (await execa("tar", ["-xzOf", tarball, "package/dist/cli/main.js"])).stdout;
    expect(await readFile(join(installed, "dist", "cli", "main.js"), "utf8")).toBe(`${main}\n`);

    const bin = join(prefix, "bin", "lvs-lab");
    const selftest = await execa(bin, ["selftest", "dnat"], { env, reject: false, timeout: 900_000 });
    expect(selftest.exitCode, `${selftest.stdout}\n${selftest.stderr}`).toBe(0);
    expect(selftest.stdout).toMatch(/^dnat\s+PROVED/m);
  }, 1_200_000);

  it("the README's first command runs from the tarball with npx", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const first = /```sh\n(npx lvs-lab [^\n#]*?)\s*(?:#|\n)/.exec(readme)![1]!;
    expect(first).toBe("npx lvs-lab start dnat");
    // As typed, but from the tarball, without the UI (no terminal here), and with a name of
    // its own: other tests share this engine and may run a "dnat" instance.
    const command = `${first.replace("npx lvs-lab", "npx --yes ./lvs-lab-*.tgz")} --no-ui --name t-package`;
    const started = await execa("sh", ["-c", command], { cwd: dir, env, reject: false, timeout: 600_000 });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toContain("Port forwarding with iptables DNAT");
    const stopped = await execa("sh", ["-c", "npx --yes ./lvs-lab-*.tgz stop --name t-package"], { cwd: dir, env, reject: false, timeout: 300_000 });
    expect([stopped.exitCode, stopped.stderr]).toEqual([0, expect.stringContaining("stopped t-package:")]);
  }, 900_000);
});
