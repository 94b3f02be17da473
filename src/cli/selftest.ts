import type { Command } from "commander";
import { ExitCode, UserError } from "../errors.js";
import type { LabProof, StepProof } from "../lab/selftest.js";
import { t } from "../i18n/index.js";
import { bold, dim, green, printJson, progressLine, red } from "./output.js";
import { interruptSignal } from "./signals.js";

export function registerSelftest(program: Command): void {
  program
    .command("selftest [labs...]")
    .description(t("help.selftest.about"))
    .option("--vm", t("help.selftest.vm"))
    .option("--no-vm", t("help.selftest.noVm"))
    .option("--yes", t("help.start.yes"))
    .option("--lang <lang>", t("help.selftest.lang"))
    .option("--json", t("help.option.json"))
    .action(async (labs: string[], opts: { vm?: boolean; yes?: boolean; json?: boolean; lang?: string }) => {
      const { placeHooks } = await import("./lab-engine.js");
      const { localEngine, placeLab } = await import("../lab/locate.js");
      const { ensureLabImage } = await import("../docker/image.js");
      const { probeKernel, missingRequirements } = await import("../lab/kernel.js");
      const { selftestLab, stepProved } = await import("../lab/selftest.js");
      const { listLabIds, loadLab } = await import("../lesson/load.js");
      const ids = labs.length ? labs : await listLabIds();
      for (const id of ids) await loadLab(id);
      const proofs: LabProof[] = [];
      const notRun: Array<{ lab: string; reason: string }> = [];
      const signal = interruptSignal();
      const took = (seconds: number) => seconds.toFixed(1);
      // The lab image on each engine, made ready once with its progress shown; and what the local
      // kernel has, asked once, for the labs --no-vm refuses (a throw-away container).
      const images = new Map<string, Promise<string>>();
      const imageOn = (engine: ReturnType<typeof localEngine>) => {
        if (!images.has(engine.host)) images.set(engine.host, ensureLabImage(engine, (e) => progressLine(t("selftest.image", { line: e.line }))));
        return images.get(engine.host)!;
      };
      let localKernel: ReturnType<typeof probeKernel> | undefined;
      const hosts = new Set<string>();
      for (const id of ids) {
        const { lesson } = await loadLab(id);
        // Each lab where `start` would run it: this kernel, or the VM (booted when needed), with what its kernel has.
        const placed = await placeLab(id, { vm: opts.vm, yes: opts.yes, signal }, placeHooks()).catch((e: unknown) => {
          if (opts.vm === false && e instanceof UserError) return undefined;
          throw e;
        });
        const engine = placed?.engine;
        // Refused (--no-vm): what this kernel lacks is the reason.
        const on = engine ?? localEngine();
        await imageOn(on);
        const report = placed ? placed.kernelReport : await (localKernel ??= imageOn(on).then((image) => probeKernel(on, image)));
        const missing = report ? missingRequirements(lesson.meta.requirements, report) : [];
        if (!engine || missing.length) {
          notRun.push({ lab: id, reason: t("selftest.needs", { what: missing.join(t("selftest.and")), host: on.host }) });
          continue;
        }
        hosts.add(engine.host);
        if (!opts.json) progressLine(t("selftest.running", { lab: id }));
        const proof = await selftestLab(id, engine, {
          signal,
          kernelReport: report,
          lang: opts.lang,
          onCase: (step, c) =>
            !opts.json &&
            progressLine(t("selftest.case", { lab: id, step, kind: t(`selftest.kind.${c.kind}`), name: c.name, verdict: t(c.ok ? "selftest.asExpected" : "selftest.notAsExpected"), s: took(c.seconds) })),
          onStep: (p) => !opts.json && progressLine(t("selftest.step", { lab: id, step: p.step, verdict: t(stepProved(p) ? "selftest.proved" : "selftest.notProved"), s: took(p.seconds) })),
        });
        proofs.push(proof);
        if (signal.aborted) throw new UserError(t("selftest.interrupted"), undefined, ExitCode.interrupted);
      }
      const ok = proofs.every((p) => p.ok);
      if (opts.json) printJson({ ok: ok && !notRun.length, engines: [...hosts], proofs, notRun });
      else printTable(proofs, notRun, await import("../text/width.js"));
      process.exitCode = !ok ? ExitCode.failed : notRun.length ? ExitCode.environment : ExitCode.ok;
    });
}

interface Columns {
  displayWidth(text: string): number;
  padToWidth(text: string, width: number): string;
}

/** The proof table: columns as wide as their heading in the learner's language (CJK characters take two columns). */
function printTable(proofs: LabProof[], notRun: Array<{ lab: string; reason: string }>, { displayWidth, padToWidth: pad }: Columns): void {
  const heading = (key: "lab" | "step" | "failsBefore" | "passesAfter" | "variants" | "mistakes") => t(`selftest.column.${key}`);
  const width = (text: string, least: number) => Math.max(least, displayWidth(text));
  const lab = width(heading("lab"), 11);
  const step = width(heading("step"), 4);
  const before = width(heading("failsBefore"), 3);
  const after = width(heading("passesAfter"), 3);
  const variants = width(heading("variants"), 8);
  const mistakes = width(heading("mistakes"), 8);
  const head = [pad(heading("lab"), lab), " ", pad(heading("step"), step), "  ", pad(heading("failsBefore"), before), "  ", pad(heading("passesAfter"), after)];
  console.log(bold(`\n${head.join("")}  ${pad(heading("variants"), variants)}  ${pad(heading("mistakes"), mistakes)}  ${t("selftest.column.seconds")}`));
  const mark = (b: boolean, w: number) => (b ? green : red)(pad(t(b ? "selftest.yes" : "selftest.no"), w));
  const tally = (s: StepProof, kind: string, w: number) => {
    const of = s.cases.filter((c) => c.kind === kind);
    const good = of.filter((c) => c.ok).length;
    return (good === of.length ? green : red)(`${good}/${of.length}`.padEnd(w));
  };
  for (const p of proofs) {
    const name = pad(p.lab, lab);
    for (const s of p.steps) {
      const cells = `${mark(s.failedBefore, before)}  ${mark(s.passedAfter, after)}  ${tally(s, "variant", variants)}  ${tally(s, "mistake", mistakes)}`;
      console.log(`${name} ${String(s.step).padStart(step)}  ${cells}  ${s.seconds.toFixed(1).padStart(6)}  ${dim(s.id)}`);
      for (const why of s.surprises) console.log(`${" ".repeat(12)}${red("→")} ${why}`);
    }
    if (p.error) console.log(`${name} ${red(t("selftest.error"))}${t("selftest.colon")}${p.error}`);
    console.log(`${name} ${p.ok ? green(t("selftest.labProved")) : red(t("selftest.labFailed"))} ${t("selftest.took", { s: p.seconds.toFixed(1) })}`);
  }
  for (const n of notRun) console.log(`${pad(n.lab, lab)} ${red(t("selftest.notRun"))}${t("selftest.colon")}${t("selftest.notRunReason", { reason: n.reason })}`);
}
