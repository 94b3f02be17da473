/** Start-up progress: image, networks, containers, services, each with a spinner and time. */
import { memo, useEffect, useState } from "react";
import { Box, Text } from "ink";
import { Spinner } from "./components.js";
import { MARK, tint, useTheme } from "../text/theme.js";
import { truncate } from "./panes.js";
import { t } from "../i18n/index.js";
import { displayWidth, padToWidth } from "../text/width.js";

export type PhaseName = "image" | "networks" | "containers" | "services";
export const PHASES: PhaseName[] = ["image", "networks", "containers", "services"];

export interface PhaseState {
  state: "waiting" | "running" | "done" | "failed";
  detail?: string;
  startedAt?: number;
  endedAt?: number;
}

export interface StartupProps {
  title: string;
  instance: string;
  engineHost: string;
  phases: Record<PhaseName, PhaseState>;
  startedAt: number;
  width: number;
  /** Fixed clock for tests; by default the view ticks by itself. */
  now?: number;
  error?: string;
}

export function initialPhases(): Record<PhaseName, PhaseState> {
  return { image: { state: "waiting" }, networks: { state: "waiting" }, containers: { state: "waiting" }, services: { state: "waiting" } };
}

const secs = (ms: number) => t("ui.startup.seconds", { s: (ms / 1000).toFixed(1) });

export const StartupView = memo(function StartupView({ title, instance, engineHost, phases, startedAt, width, now, error }: StartupProps) {
  const theme = useTheme();
  const [tick, setTick] = useState(0);
  const running = PHASES.some((p) => phases[p].state === "running");
  useEffect(() => {
    if (now !== undefined || !running) return;
    const t = setInterval(() => setTick((n) => n + 1), 100);
    return () => clearInterval(t);
  }, [now, running]);
  const clock = now ?? Date.now();
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate-end">
        {truncate(t("ui.startup.starting", { title }), width)}
      </Text>
      <Text dimColor wrap="truncate-end">
        {truncate(t("ui.header.info", { instance, engine: engineHost }), width)}
      </Text>
      {PHASES.map((name) => {
        const p = phases[name];
        const mark =
          p.state === "running" ? <Spinner frame={tick} /> : p.state === "done" ? <Text {...tint(theme, "green")}>{MARK.passed}</Text> : p.state === "failed" ? <Text {...tint(theme, "red")}>{MARK.failed}</Text> : <Text dimColor>{MARK.notYet}</Text>;
        const time = p.startedAt !== undefined ? secs((p.endedAt ?? clock) - p.startedAt) : "";
        const label = p.state === "done" ? t("ui.startup.ready") : p.state === "running" ? p.detail ?? t("ui.startup.working") : p.state === "failed" ? t("ui.startup.failed") : "";
        return (
          <Box key={name} width={width}>
            <Text> </Text>
            {mark}
            <Text> {padToWidth(t(`ui.startup.phase.${name}`), 11)}</Text>
            <Text dimColor>{" ".repeat(Math.max(0, 7 - displayWidth(time)))}{time}  </Text>
            <Text wrap="truncate-end">{truncate(label, Math.max(0, width - 24))}</Text>
          </Box>
        );
      })}
      <Text dimColor>{truncate(t("ui.startup.total", { s: ((clock - startedAt) / 1000).toFixed(1) }), width)}</Text>
      {error ? <Text {...tint(theme, "red")}>{truncate(`${MARK.failed} ${error}`, width)}</Text> : null}
    </Box>
  );
});
