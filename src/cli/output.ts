/** Plain output shared by the commands: one place decides colours and timing. */
import { Chalk, supportsColor, supportsColorStderr, type ColorSupportLevel } from "chalk";
import { t } from "../i18n/index.js";
import type { ProbeResult } from "../probes/runner.js";

/**
 * chalk's level for a stream already follows FORCE_COLOR (1 in a pipe: colour; 0 on a
 * terminal: none) and TERM=dumb; NO_COLOR (no-color.org), which chalk leaves to its
 * callers, wins over both.
 */
export function colourLevel(detected: { level: ColorSupportLevel } | false, env: NodeJS.ProcessEnv = process.env): ColorSupportLevel {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return 0;
  return detected ? detected.level : 0;
}

const out = new Chalk({ level: colourLevel(supportsColor) });
/** For stderr, which may be a terminal while stdout is a pipe (--json) or the other way round. */
const err = new Chalk({ level: colourLevel(supportsColorStderr) });
export const green = (text: string) => out.green(text);
export const red = (text: string) => out.red(text);
export const dim = (text: string) => out.dim(text);
export const bold = (text: string) => out.bold(text);

export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + "\n");
}

/** Seconds since `sinceMs`, for --json. */
export function elapsed(sinceMs: number): number {
  return (Date.now() - sinceMs) / 1000;
}

export function seconds(sinceMs: number): string {
  return `${((Date.now() - sinceMs) / 1000).toFixed(1)} s`;
}

export function formatProbe(r: ProbeResult): string {
  // An observation is what the learner should see at this stage, right or wrong: never a verdict.
  const mark = r.observation ? dim("·") : r.ok ? green("✔") : red("✘");
  const hint = !r.ok && !r.observation && r.hint ? dim(t("cli.probeHint", { n: r.hint })) : "";
  return `  ${mark} ${r.description}\n      ${r.ok ? dim(r.message) : r.message}${hint}${formatPath(r)}`;
}

/** A traffic probe's hops, one line each, node names aligned. */
function formatPath(r: ProbeResult): string {
  if (!r.path?.length) return "";
  const width = Math.max(...r.path.map((h) => h.node.length));
  return `\n      ${dim(t("cli.wherePacketsWent"))}` + r.path.map((h) => `\n        ${bold(h.node.padEnd(width))}  ${h.what}`).join("");
}

/** Progress lines on stderr, so stdout stays clean for --json. */
export function progressLine(text: string): void {
  process.stderr.write(`${err.dim("·")} ${text}\n`);
}
