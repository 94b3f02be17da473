/**
 * Terminal columns, not string length: a CJK character takes two columns, a combining mark
 * none (string-width, the measure ink itself draws with). Cuts fall between characters.
 */
import stringWidth from "string-width";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

export function displayWidth(text: string): number {
  // Pure ASCII is the common case: one column per character.
  return /^[\x20-\x7e]*$/.test(text) ? text.length : stringWidth(text);
}

/** The longest start of `text` that fits in `width` columns, cut between characters. */
export function sliceToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let used = 0;
  let out = "";
  for (const { segment } of segmenter.segment(text)) {
    const w = displayWidth(segment);
    if (used + w > width) break;
    used += w;
    out += segment;
  }
  return out;
}

/** Pads with spaces to `width` columns (String.padEnd counts characters). */
export function padToWidth(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}
