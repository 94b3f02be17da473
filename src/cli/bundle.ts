import type { Command } from "commander";
import { t } from "../i18n/index.js";
import { ExitCode } from "../errors.js";
import { dim, progressLine, seconds } from "./output.js";

const MiB = 1024 * 1024;

export function registerBundle(program: Command): void {
  const bundle = program.command("bundle").description(t("help.bundle.about"));
  bundle
    .command("create <file>")
    .description(t("help.bundleCreate.about"))
    .option("--with-vm", t("help.bundleCreate.withVm"))
    .action(async (file: string, opts: { withVm?: boolean }) => {
      const began = Date.now();
      const { engineFor } = await import("./context.js");
      const { createBundle, sizeOf } = await import("../bundle/files.js");
      const manifest = await createBundle(await engineFor({}), file, opts, (line) => progressLine(line));
      const { bytes } = sizeOf(file);
      console.log(`${file}: lvs-lab ${manifest.version}, ${manifest.image.ref}${manifest.vm ? `, VM ${manifest.vm.recipe}` : ""} — ${(bytes / MiB).toFixed(0)} MiB ${dim(`(${seconds(began)})`)}`);
      console.log(dim(`install on a machine without network: lvs-lab bundle install ${file}  (or: tar -xf ${file} install.sh && sh install.sh ${file} [PREFIX])`));
    });
  bundle
    .command("install <file>")
    .description(t("help.bundleInstall.about"))
    .option("--prefix <dir>", t("help.bundleInstall.prefix"), "/usr/local")
    .action(async (file: string, opts: { prefix: string }) => {
      const began = Date.now();
      const { engineFor } = await import("./context.js");
      const { installBundle } = await import("../bundle/files.js");
      const { execa } = await import("execa");
      const r = await installBundle(await engineFor({}), file, opts.prefix, (line) => progressLine(line));
      console.log(`installed lvs-lab ${r.manifest.version} as ${r.bin}; image ${r.manifest.image.ref} ${r.image}; VM ${r.vm} ${dim(`(${seconds(began)})`)}`);
      // The installed copy checks itself: it, not this one, is what the learner will run.
      const doctor = await execa(process.execPath, [r.bin, "doctor"], { stdio: "inherit", reject: false });
      process.exitCode = doctor.exitCode === 0 ? ExitCode.ok : ExitCode.environment;
    });
}
