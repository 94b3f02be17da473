/**
 * `lvs-lab vm up | down | status [--json]`: the QEMU VM with a stock Debian kernel that
 * runs the LVS labs where the host kernel has no ip_vs / ipip.
 */
import { Command } from "commander";
import { t } from "../i18n/index.js";

type StatusLabel = "running" | "engine" | "bootedIn" | "memory" | "idleStop" | "console" | "stopped" | "built" | "cache";

export function vmCommand(): Command {
  const vm = new Command("vm").description(t("help.vm.about"));

  vm.command("up")
    .description(t("help.vmUp.about"))
    .option("--image <ref>", t("help.vmUp.image"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async (opts: { image?: string }) => {
      const { hasVmLane, noVmLaneLine } = await import("../lab/placement.js");
      if (!hasVmLane(process.platform)) {
        const { UserError } = await import("../errors.js");
        throw new UserError(noVmLaneLine(process.platform));
      }
      const started = Date.now();
      const { resolveDockerHost } = await import("../docker/engine.js");
      const { labImageRef } = await import("../docker/image.js");
      const { vmUp } = await import("../vm/index.js");
      const { dockerHost, timings } = await vmUp({
        labImage: opts.image ?? labImageRef(),
        localDockerHost: resolveDockerHost(),
        onPhase: (phase, detail) => {
          process.stderr.write(`${t("vm.up.phase", { s: ((Date.now() - started) / 1000).toFixed(0).padStart(4), phase, detail })}\n`);
        },
      });
      const parts = Object.entries(timings).map(([phase, s]) => t("vm.up.timing", { phase, s }));
      process.stderr.write(`${t("vm.up.ready", { host: dockerHost, timings: parts.join(t("vm.up.timingJoin")) })}\n`);
      process.stdout.write(`${dockerHost}\n`);
    });

  vm.command("down")
    .description(t("help.vmDown.about"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async () => {
      const { vmDown } = await import("../vm/index.js");
      const stopped = await vmDown();
      process.stderr.write(`${t(stopped ? "vm.down.stopped" : "vm.down.notRunning")}\n`);
    });

  vm.command("status")
    .description(t("help.vmStatus.about"))
    .option("--json", t("help.option.json"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async (opts: { json?: boolean }) => {
      const { vmStatus } = await import("../vm/index.js");
      const s = await vmStatus();
      if (opts.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + "\n");
        return;
      }
      const rows: Array<[StatusLabel, string]> = [
        ["running", s.running ? t("vm.status.yesPid", { pid: s.pid, accel: s.accel ?? "?" }) : t("vm.status.no")],
        ...(s.running
          ? ([
              ["engine", t(s.engine ? "vm.status.answers" : "vm.status.silent", { host: s.dockerHost ?? "?" })],
              ["bootedIn", s.bootSeconds !== undefined ? t("vm.status.seconds", { s: s.bootSeconds }) : t("vm.status.stillBooting")],
              ...(s.memoryMiB ? [["memory", t("vm.status.memory", { rss: s.memoryMiB.rss, peak: s.memoryMiB.peak }) + (s.givenMiB ? t("vm.status.given", { given: s.givenMiB }) : "")]] : []),
              ["idleStop", s.idleMinutes ? t("vm.status.idleAfter", { minutes: s.idleMinutes }) : t("vm.status.none")],
              ["console", s.logFile],
            ] as Array<[StatusLabel, string]>)
          : s.stoppedIdle
            ? [["stopped", t("vm.status.stoppedIdle", { at: s.stoppedIdle.at, minutes: s.stoppedIdle.idleMinutes })] as [StatusLabel, string]]
            : []),
        ["built", s.built ? t("vm.status.yes") : t("vm.status.notBuilt")],
        ["cache", s.cacheDir],
      ];
      const { padToWidth } = await import("../text/width.js");
      process.stdout.write(rows.map(([label, value]) => `${padToWidth(t(`vm.status.label.${label}`), 11)} ${value}`).join("\n") + "\n");
    });

  return vm;
}
