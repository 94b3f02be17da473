/**
 * `lvs-lab vm up | down | status [--json]`: the QEMU VM with a stock Debian kernel that
 * runs the LVS labs where the host kernel has no ip_vs / ipip.
 */
import { Command } from "commander";

export function vmCommand(): Command {
  const vm = new Command("vm").description(
    "a QEMU VM with Debian's stock kernel (ip_vs, ipip) and its own Docker engine, for the LVS labs",
  );

  vm.command("up")
    .description("build (first time only), boot the VM and load the lab image into its engine; prints its DOCKER_HOST (`start` does this by itself when a lab needs it)")
    .option("--image <ref>", "lab image to make available in the VM (default: the current lab image)")
    .action(async (opts: { image?: string }) => {
      const started = Date.now();
      const { resolveDockerHost } = await import("../docker/engine.js");
      const { labImageRef } = await import("../docker/image.js");
      const { vmUp } = await import("../vm/index.js");
      const { dockerHost, timings } = await vmUp({
        labImage: opts.image ?? labImageRef(),
        localDockerHost: resolveDockerHost(),
        onPhase: (phase, detail) => {
          process.stderr.write(`vm [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${phase}: ${detail}\n`);
        },
      });
      const parts = Object.entries(timings).map(([k, v]) => `${k} ${v} s`);
      process.stderr.write(`vm: engine ready at ${dockerHost} (${parts.join(", ")}). Stop it with \`lvs-lab vm down\`.\n`);
      process.stdout.write(`${dockerHost}\n`);
    });

  vm.command("down")
    .description("stop the VM (containers inside it are discarded)")
    .action(async () => {
      const { vmDown } = await import("../vm/index.js");
      const stopped = await vmDown();
      process.stderr.write(stopped ? "vm: stopped.\n" : "vm: not running.\n");
    });

  vm.command("status")
    .description("is the VM running, where is its engine, is it built")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const { vmStatus } = await import("../vm/index.js");
      const s = await vmStatus();
      if (opts.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + "\n");
        return;
      }
      const lines = [
        `running:    ${s.running ? `yes (pid ${s.pid}, ${s.accel ?? "?"})` : "no"}`,
        ...(s.running
          ? [
              `engine:     ${s.dockerHost ?? "?"} ${s.engine ? "answers" : "does not answer"}`,
              `booted in:  ${s.bootSeconds !== undefined ? `${s.bootSeconds} s` : "still booting"}`,
              ...(s.memoryMiB ? [`memory:     ${s.memoryMiB.rss} MiB resident (peak ${s.memoryMiB.peak} MiB)${s.givenMiB ? `, ${s.givenMiB} MiB given` : ""}`] : []),
              `idle stop:  ${s.idleMinutes ? `after ${s.idleMinutes} min without a lab` : "none"}`,
              `console:    ${s.logFile}`,
            ]
          : s.stoppedIdle
            ? [`stopped:    by itself at ${s.stoppedIdle.at}, after ${s.stoppedIdle.idleMinutes} min without a lab`]
            : []),
        `built:      ${s.built ? "yes" : "no (the first `lvs-lab start` of an LVS lab, or `lvs-lab vm up`, builds it)"}`,
        `cache:      ${s.cacheDir}`,
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });

  return vm;
}
