import type { Command } from "commander";
import { dim, progressLine, seconds } from "./output.js";

export function registerImage(program: Command): void {
  const image = program.command("image").description("build, save or load the lab image");
  image
    .command("build")
    .description("build the lab image (from debian:bookworm-slim, or a debootstrap base where no registry is reachable)")
    .option("--base <image>", "base image to build FROM")
    .option("--force", "rebuild even if the image exists")
    .option("--vm", "build in the lvs-lab VM's engine")
    .action(async (opts: { base?: string; force?: boolean; vm?: boolean }) => {
      const { engineFor } = await import("./context.js");
      const { ensureLabImage } = await import("../docker/image.js");
      const engine = await engineFor(opts);
      const began = Date.now();
      const ref = await ensureLabImage(engine, (e) => progressLine(`${e.phase}: ${e.line}`), opts);
      console.log(`${ref} ready ${dim(`(${seconds(began)})`)}`);
    });
  image
    .command("save <file>")
    .description("write the lab image to a tar file (for classrooms without network)")
    .action(async (file: string) => {
      const began = Date.now();
      const { engineFor } = await import("./context.js");
      const { saveLabImage } = await import("../docker/image.js");
      const ref = await saveLabImage(await engineFor({}), file);
      console.log(`${ref} saved to ${file} ${dim(`(${seconds(began)})`)}`);
    });
  image
    .command("load <file>")
    .description("load a lab image saved with `image save`")
    .option("--vm", "load into the lvs-lab VM's engine")
    .action(async (file: string, opts: { vm?: boolean }) => {
      const began = Date.now();
      const { engineFor } = await import("./context.js");
      const { labImageRef, loadLabImage } = await import("../docker/image.js");
      await loadLabImage(await engineFor(opts), file);
      console.log(`loaded ${file} ${dim(`(${seconds(began)}); lvs-lab uses ${labImageRef()}`)}`);
    });
}
