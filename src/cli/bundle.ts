import type { Command } from "commander";
import { t } from "../i18n/index.js";
import { ExitCode } from "../errors.js";
import { dim, elapsed, printJson, progressLine, seconds } from "./output.js";

const MiB = 1024 * 1024;

/** doctor's report, or null where the installed copy printed none (it could not run). */
function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function registerBundle(program: Command): void {
  const bundle = program.command("bundle").description(t("help.bundle.about"));
  bundle
    .command("create <file>")
    .description(t("help.bundleCreate.about"))
    .option("--with-vm", t("help.bundleCreate.withVm"))
    .option("--json", t("help.option.json"))
    .action(async (file: string, opts: { withVm?: boolean; json?: boolean }) => {
      const began = Date.now();
      const { engineFor } = await import("../lab/locate.js");
      const { createBundle, sizeOf } = await import("../bundle/files.js");
      const manifest = await createBundle(await engineFor({}), file, opts, (line) => progressLine(line));
      const { bytes } = sizeOf(file);
      if (opts.json) return printJson({ file, version: manifest.version, image: manifest.image.ref, vm: manifest.vm?.recipe ?? null, bytes, seconds: elapsed(began) });
      console.log(`${file}: lvs-lab ${manifest.version}, ${manifest.image.ref}${manifest.vm ? `, VM ${manifest.vm.recipe}` : ""} — ${(bytes / MiB).toFixed(0)} MiB ${dim(`(${seconds(began)})`)}`);
      console.log(dim(`install on a machine without network: lvs-lab bundle install ${file}  (or: tar -xf ${file} install.sh && sh install.sh ${file} [PREFIX])`));
    });
  bundle
    .command("install <file>")
    .description(t("help.bundleInstall.about"))
    .option("--prefix <dir>", t("help.bundleInstall.prefix"), "/usr/local")
    .option("--json", t("help.option.json"))
    .action(async (file: string, opts: { prefix: string; json?: boolean }) => {
      const began = Date.now();
      const { engineFor } = await import("../lab/locate.js");
      const { installBundle } = await import("../bundle/files.js");
      const { execa } = await import("execa");
      const r = await installBundle(await engineFor({}), file, opts.prefix, (line) => progressLine(line));
      // The installed copy checks itself: it, not this one, is what the learner will run.
      if (opts.json) {
        const doctor = await execa(process.execPath, [r.bin, "doctor", "--json"], { reject: false, stderr: "inherit" });
        printJson({ version: r.manifest.version, bin: r.bin, image: { ref: r.manifest.image.ref, state: r.image }, vm: r.vm, doctor: jsonOrNull(String(doctor.stdout)), seconds: elapsed(began) });
        process.exitCode = doctor.exitCode === 0 ? ExitCode.ok : ExitCode.environment;
        return;
      }
      console.log(`installed lvs-lab ${r.manifest.version} as ${r.bin}; image ${r.manifest.image.ref} ${r.image}; VM ${r.vm} ${dim(`(${seconds(began)})`)}`);
      const doctor = await execa(process.execPath, [r.bin, "doctor"], { stdio: "inherit", reject: false });
      process.exitCode = doctor.exitCode === 0 ? ExitCode.ok : ExitCode.environment;
    });
}
