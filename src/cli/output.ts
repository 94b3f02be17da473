/** Plain output shared by the commands: one place decides colours and timing. */
import { Chalk, supportsColor, supportsColorStderr, type ColorSupportLevel } from "chalk";
import type { ProbeResult } from "../probes/runner.js";
import type { Seg } from "../text/lines.js";
import { probeView } from "../text/probe-view.js";

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
  return probeView(r)
    .map((line) => "  " + line.segs.map(paint).join(""))
    .join("\n");
}

/** A segment in chalk's styles (none where the stream takes no colour). */
function paint(seg: Seg): string {
  let style = out;
  if (seg.bold) style = style.bold;
  if (seg.dim) style = style.dim;
  if (isColour(seg.color)) style = style[seg.color];
  return style(seg.text);
}

const COLOURS = ["green", "red", "yellow", "blue", "magenta"] as const;
const isColour = (name: string | undefined): name is (typeof COLOURS)[number] => (COLOURS as readonly string[]).includes(name ?? "");

/** Progress lines on stderr, so stdout stays clean for --json. */
export function progressLine(text: string): void {
  process.stderr.write(`${err.dim("·")} ${text}\n`);
}
