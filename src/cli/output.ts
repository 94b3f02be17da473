/** Plain output shared by the commands: one place decides colours and timing. */
import { t } from "../i18n/index.js";
import type { ProbeResult } from "../probes/runner.js";

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (useColour ? `\x1b[${code}m${text}\x1b[0m` : text);
export const green = paint("32");
export const red = paint("31");
export const dim = paint("2");
export const bold = paint("1");

export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + "\n");
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
  process.stderr.write(`${dim("·")} ${text}\n`);
}
