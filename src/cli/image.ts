import type { Command } from "commander";
import { t } from "../i18n/index.js";
import { dim, elapsed, printJson, progressLine, seconds } from "./output.js";

export function registerImage(program: Command): void {
  const image = program.command("image").description(t("help.image.about"));
  image
    .command("build")
    .description(t("help.imageBuild.about"))
    .option("--base <image>", t("help.imageBuild.base"))
    .option("--force", t("help.imageBuild.force"))
    .option("--vm", t("help.imageBuild.vm"))
    .option("--json", t("help.option.json"))
    .action(async (opts: { base?: string; force?: boolean; vm?: boolean; json?: boolean }) => {
      const { engineFor } = await import("../lab/locate.js");
      const { ensureLabImage } = await import("../docker/image.js");
      const engine = await engineFor(opts);
      const began = Date.now();
      const ref = await ensureLabImage(engine, (e) => progressLine(`${e.phase}: ${e.line}`), opts);
      if (opts.json) return printJson({ image: ref, engine: engine.host, seconds: elapsed(began) });
      console.log(`${ref} ready ${dim(`(${seconds(began)})`)}`);
    });
  image
    .command("save <file>")
    .description(t("help.imageSave.about"))
    .option("--json", t("help.option.json"))
    .action(async (file: string, opts: { json?: boolean }) => {
      const began = Date.now();
      const { engineFor } = await import("../lab/locate.js");
      const { saveLabImage } = await import("../docker/image.js");
      const ref = await saveLabImage(await engineFor({}), file);
      if (opts.json) return printJson({ image: ref, file, seconds: elapsed(began) });
      console.log(`${ref} saved to ${file} ${dim(`(${seconds(began)})`)}`);
    });
  image
    .command("load <file>")
    .description(t("help.imageLoad.about"))
    .option("--vm", t("help.imageLoad.vm"))
    .option("--json", t("help.option.json"))
    .action(async (file: string, opts: { vm?: boolean; json?: boolean }) => {
      const began = Date.now();
      const { engineFor } = await import("../lab/locate.js");
      const { labImageRef, loadLabImage } = await import("../docker/image.js");
      const engine = await engineFor(opts);
      await loadLabImage(engine, file);
      if (opts.json) return printJson({ file, image: labImageRef(), engine: engine.host, seconds: elapsed(began) });
      console.log(`loaded ${file} ${dim(`(${seconds(began)}); lvs-lab uses ${labImageRef()}`)}`);
    });
}
