import { z } from "zod";
import { t } from "../../i18n/index.js";
import type { Collect, CommandOutput, ProbeKind, Verdict } from "../types.js";
import { probeBase, withExplain } from "./common.js";

/**
 * Restarts a node's container and proves that what the node held before comes back on
 * its own: the IPVS table and the listed sysctls. The check reads them before the restart
 * (round -1) and after it (round 0, once the image's start hook has run), and, where they
 * differ, the files a host keeps them in, so that the verdict names what was not saved or
 * not restored.
 */
const schema = z
  .object({
    kind: z.literal("restart"),
    ...probeBase,
    /** Sysctls that must have the same value after the restart as before it. */
    sysctls: z.array(z.string().regex(/^net\.[\w.]+$/, "must be a net.* sysctl such as net.ipv4.ip_forward")).default([]),
  })
  .strict();
export type RestartProbe = z.infer<typeof schema>;

/** How long the start hook may take after the restart (an emulated CPU is slow to fork). */
export const HOOK_WAIT_S = 30;
const RULES = "/etc/ipvsadm.rules";
const HOOK = "/etc/rc.local";
const STARTED = "/run/lvs-lab-started";

const section = (name: string) => `echo '@@${name}'`;
const procPath = (key: string) => `/proc/sys/${key.replace(/\./g, "/")}`;

/** PID 1's start time, the IPVS table and the sysctls, one section each. */
function stateScript(p: RestartProbe): string {
  return [
    section("started"),
    "cut -d' ' -f22 /proc/1/stat",
    section("ipvs"),
    "ipvsadm-save -n 2>&1",
    section("sysctls"),
    ...p.sysctls.map((key) => `echo "${key}=$(cat ${procPath(key)} 2>/dev/null)"`),
  ].join("\n");
}

/** After the restart: waits for the start hook to end, then the state and the files that should have brought it back. */
function afterScript(p: RestartProbe): string {
  const settings = p.sysctls.map((key) => {
    const pattern = `^[[:space:]]*${key.replace(/\./g, "[./]")}[[:space:]]*=`;
    return `grep -sE '${pattern}' /etc/sysctl.d/*.conf /etc/sysctl.conf /run/sysctl.d/*.conf /usr/lib/sysctl.d/*.conf | sed 's/^/${key} /'`;
  });
  return [
    `i=0; while [ "$(cat ${STARTED} 2>/dev/null)" != "$(cut -d' ' -f22 /proc/1/stat)" ] && [ $i -lt ${HOOK_WAIT_S * 4} ]; do sleep 0.25; i=$((i + 1)); done`,
    section("hook"),
    `if [ "$(cat ${STARTED} 2>/dev/null)" != "$(cut -d' ' -f22 /proc/1/stat)" ]; then echo running`,
    `elif [ ! -e ${HOOK} ]; then echo missing; elif [ ! -x ${HOOK} ]; then echo not-executable; else echo ran; fi`,
    stateScript(p),
    section("rules"),
    `[ -f ${RULES} ] && grep -v -e '^#' -e '^[[:space:]]*$' ${RULES}`,
    section("settings"),
    ...settings,
  ].join("\n");
}

/** The output's `@@name` sections, each as its lines. */
export function sections(output: string): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of output.split("\n")) {
    const name = /^@@(\w+)$/.exec(line)?.[1];
    if (name) found[name] = current = [];
    else if (current && line.trim()) current.push(line.trim());
  }
  return found;
}

/** IPVS rules compared as sets: ipvsadm-save lists real servers in the kernel's order. */
const sameRules = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");

const value = (lines: string[], key: string) => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? "";

function hookState(after: Record<string, string[]>): string {
  const state = after.hook?.[0] ?? "missing";
  if (state === "missing") return t("probe.restart.hook.missing", { hook: HOOK });
  if (state === "not-executable") return t("probe.restart.hook.notExecutable", { hook: HOOK });
  return t("probe.restart.hook.ran", { hook: HOOK });
}

/** What the IPVS table lost, and why: never saved, saved but not restored, or saved before its last change. */
function ipvsLoss(p: RestartProbe, before: string[], after: Record<string, string[]>): string | undefined {
  const now = after.ipvs ?? [];
  if (sameRules(before, now)) return undefined;
  const missing = before.find((l) => !now.includes(l)) ?? now.find((l) => !before.includes(l)) ?? "";
  const counts = { node: p.node, before: before.length, after: now.length, missing };
  const rules = after.rules;
  if (!rules || rules.length === 0) return t("probe.restart.ipvsNotSaved", { ...counts, rules: RULES });
  if (sameRules(rules, now)) return t("probe.restart.ipvsSavedEarly", { ...counts, rules: RULES });
  return t("probe.restart.ipvsNotRestored", { ...counts, rules: RULES, saved: rules.length, hook: hookState(after) });
}

function sysctlLoss(p: RestartProbe, key: string, before: string[], after: Record<string, string[]>): string | undefined {
  const was = value(before, key);
  const is = value(after.sysctls ?? [], key);
  if (was === is) return undefined;
  const files = (after.settings ?? []).filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1));
  if (files.length === 0) return t("probe.restart.sysctlNotSaved", { node: p.node, key, was, is });
  const file = files[files.length - 1]!.split(":")[0];
  return t("probe.restart.sysctlNotApplied", { node: p.node, key, was, is, file, hook: hookState(after) });
}

function judge(p: RestartProbe, [beforeOut, afterOut]: CommandOutput[]): Verdict {
  const before = sections(beforeOut!.output);
  const after = sections(afterOut!.output);
  if (before.started?.[0] === undefined || before.started[0] === after.started?.[0]) {
    return { ok: false, message: t("probe.restart.notRestarted", { node: p.node }) };
  }
  // An empty table before the restart has nothing to bring back (a check ran before the service was put back).
  if (!(before.ipvs ?? []).some((l) => l.startsWith("-A "))) return { ok: false, message: t("probe.restart.nothingBefore", { node: p.node, rules: RULES }) };
  if (after.hook?.[0] === "running") return { ok: false, message: t("probe.restart.hookRunning", { node: p.node, hook: HOOK, seconds: HOOK_WAIT_S }) };
  const losses = [ipvsLoss(p, before.ipvs ?? [], after), ...p.sysctls.map((key) => sysctlLoss(p, key, before.sysctls ?? [], after))].filter(
    (l): l is string => l !== undefined,
  );
  if (losses.length) return { ok: false, message: withExplain(losses.join(" "), p) };
  const lines = (after.ipvs ?? []).length;
  const sysctls = p.sysctls.map((key) => `${key} = ${value(after.sysctls ?? [], key)}`).join(", ");
  return { ok: true, message: t(sysctls ? "probe.restart.kept" : "probe.restart.keptTable", { node: p.node, lines, sysctls }) };
}

export const restartProbe: ProbeKind<RestartProbe> = {
  kind: "restart",
  schema,
  describe: (p) => p.title ?? t(p.sysctls.length ? "probe.restart.describe" : "probe.restart.describeTable", { node: p.node, sysctls: p.sysctls.join(", ") }),
  restarts: (p) => [p.node],
  collect: (p): Collect[] => [
    { round: -1, node: p.node, script: stateScript(p) },
    { round: 0, node: p.node, script: afterScript(p) },
  ],
  judge,
};
