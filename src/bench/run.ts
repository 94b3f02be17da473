/**
 * `npm run bench`: how fast and frugal lvs-lab is on the host engine, against what a
 * teacher would otherwise use. Built with the project (dist/bench/run.js); see
 * bench/README.md for what is measured and bench/results/ for the latest table.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { ensureLabImage } from "../docker/image.js";
import { sectionCheck } from "./check.js";
import { cleanupAllBench, engine, fmtMs, log, now, run } from "./common.js";
import { parseFlags, USAGE, type Flags, type Section } from "./flags.js";
import { markdown, targets } from "./report.js";
import type { BenchResults } from "./results.js";
import { sectionStart } from "./start.js";
import { sectionScale, sectionStop } from "./stop.js";
import { sectionUi } from "./ui.js";
import { sectionVm } from "./vm.js";

/** Sections on the host engine; the vm section sweeps its own instances in the VM only. */
const onHost = (flags: Flags) => !flags.only || [...flags.only].some((s) => s !== "vm");

async function bench(flags: Flags): Promise<boolean> {
  const began = now();
  const info = await engine.info();
  // Only the start section compares with docker-compose.
  const compose = await run("docker-compose", ["version", "--short"]);
  const needsCompose = !flags.only || flags.only.has("start");
  if (needsCompose && compose.code !== 0) throw new Error("docker-compose (v1) is missing: `npm run setup` installs it (Debian's docker-compose package), or run the other sections with --only");
  const image = await ensureLabImage(engine, (e) => log(`image: ${e.line}`));
  if (onHost(flags)) await cleanupAllBench();
  const results: BenchResults = {
    date: new Date().toISOString(),
    env: {
      engine: info,
      cpus: cpus().length,
      memGb: Math.round(totalmem() / 2 ** 30),
      loadAverage: loadavg(),
      node: process.version,
      compose: compose.code === 0 ? `docker-compose ${compose.stdout.trim()}` : "no docker-compose",
      image,
      otherContainers: (await engine.listContainers()).length,
      flags: process.argv.slice(2).join(" ") || "(defaults)",
    },
    errors: {},
  };
  await mkdir(flags.out, { recursive: true });
  const genDir = join(flags.out, "generated");
  await mkdir(genDir, { recursive: true });

  const sections: Array<[Section, () => Promise<void>]> = [
    ["start", () => sectionStart(results, flags, image, genDir)],
    ["check", () => sectionCheck(results, flags)],
    ["stop", () => sectionStop(results, flags)],
    ["scale", () => sectionScale(results, flags)],
    ["ui", () => sectionUi(results, flags)],
    ["vm", () => sectionVm(results, flags)],
  ];
  for (const [name, section] of sections) {
    if (flags.only && !flags.only.has(name)) continue;
    const t = now();
    log(`== ${name}`);
    try {
      await section();
    } catch (e) {
      results.errors[name] = String((e as Error)?.stack ?? e);
      log(`section ${name} failed: ${(e as Error)?.message ?? e}`);
      if (name !== "vm") await cleanupAllBench().catch(() => undefined);
    }
    log(`== ${name} took ${fmtMs(now() - t)}`);
  }
  results.targets = targets(results);
  results.totalSeconds = Math.round((now() - began) / 1000);
  let md = markdown(results, flags.uiEnv);
  const errors = Object.entries(results.errors);
  if (errors.length) md += `\n## Errors\n\n${errors.map(([k, v]) => `- ${k}: ${v.split("\n")[0]}`).join("\n")}\n`;
  // The VM's figures alone are another machine's: they do not replace the host's table.
  const base = flags.only?.size === 1 && flags.only.has("vm") ? "vm" : "latest";
  md += `\nTotal bench time ${results.totalSeconds} s. Raw samples and engine-call traces: ${base}.json.\n`;
  await writeFile(join(flags.out, `${base}.md`), md);
  await writeFile(join(flags.out, `${base}.json`), JSON.stringify(results, null, 2) + "\n");
  console.log(md);
  return errors.length === 0;
}

const flags = parseFlags(process.argv.slice(2));
if (flags.help) console.log(USAGE);
else {
  // Exit 1 only when a section failed.
  const ok = await bench(flags).catch(async (e: unknown) => {
    console.error(e);
    if (onHost(flags)) await cleanupAllBench().catch(() => undefined);
    return false;
  });
  process.exitCode = ok ? 0 : 1;
}
