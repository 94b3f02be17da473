/**
 * The line model every screen draws: a line is a list of styled segments, laid out in
 * terminal columns. The lesson panes, `check`'s output, `class watch` and the class page
 * all build these lines; each only decides how to paint a segment's style.
 */
import { breakPieces, closes, opens } from "./breaks.js";
import { displayWidth, sliceToWidth } from "./width.js";

export interface Seg {
  text: string;
  bold?: boolean;
  italic?: boolean;
  code?: boolean;
  dim?: boolean;
  heading?: boolean;
  /** Accent colour (ignored without colour). */
  color?: string;
}

export interface Line {
  segs: Seg[];
  /** A line of a code block: its rule and text are not re-wrapped by the pane. */
  code?: boolean;
}

/** CJK characters: a line may break before or after each, no space needed. */
const WIDE = /[\u1100-\u115F\u2E80-\u303E\u3041-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{20000}-\u{3FFFD}]/u;

/** A word split where lines may break inside it: next to Chinese characters, by the rules of breaks.ts. */
function breakable(word: string): string[] {
  return WIDE.test(word) ? breakPieces(word) : [word];
}

/** Greedy word wrap of styled runs, in terminal columns; a word longer than the width is cut between characters. */
export function wrapSegs(segs: Seg[], width: number, firstPrefix: Seg[] = [], restPrefix: Seg[] = firstPrefix): Line[] {
  const lines: Line[] = [];
  const prefixWidth = (p: Seg[]) => p.reduce((n, s) => n + displayWidth(s.text), 0);
  let current: Seg[] = firstPrefix.map((s) => ({ ...s }));
  let used = prefixWidth(firstPrefix);
  const avail = Math.max(4, width);
  let atStart = true;
  let lastPushed: Seg | undefined;
  const newLine = () => {
    lines.push({ segs: current });
    current = restPrefix.map((s) => ({ ...s }));
    used = prefixWidth(restPrefix);
    atStart = true;
    lastPushed = undefined;
  };
  const push = (seg: Seg, text: string) => {
    if (lastPushed && sameStyle(lastPushed, seg)) lastPushed.text += text;
    else {
      lastPushed = { ...seg, text };
      current.push(lastPushed);
    }
    used += displayWidth(text);
    atStart = false;
  };
  // Words may span runs ("`ls`." is code then text): keep such parts together.
  type Part = { seg: Seg; text: string };
  // "break": a line may end here without a space (between CJK characters).
  const tokens: Array<"space" | "nl" | "break" | Part[]> = [];
  for (const seg of segs) {
    for (const piece of seg.text.split(/(\n|\s+)/)) {
      if (!piece) continue;
      if (piece === "\n") tokens.push("nl");
      else if (/^\s+$/.test(piece)) tokens.push("space");
      else {
        breakable(piece).forEach((text, i) => {
          const prev = tokens[tokens.length - 1];
          // Runs meet inside a word ("参数`ip`"): a CJK character on either side lets the line break there.
          const lastText = Array.isArray(prev) ? prev[prev.length - 1]!.text : "";
          const meets = i === 0 && lastText && (WIDE.test(lastText.slice(-1)) || WIDE.test(text[0]!)) && !closes(text[0]!) && !opens(lastText.slice(-1));
          if (i > 0 || meets) tokens.push("break");
          const before = tokens[tokens.length - 1];
          if (Array.isArray(before)) before.push({ seg, text });
          else tokens.push([{ seg, text }]);
        });
      }
    }
  }
  let pendingSpace: Seg | undefined;
  for (const tok of tokens) {
    if (tok === "nl") {
      newLine();
      pendingSpace = undefined;
      continue;
    }
    if (tok === "space") {
      pendingSpace = { text: " " };
      continue;
    }
    if (tok === "break") continue;
    const len = tok.reduce((n, p) => n + displayWidth(p.text), 0);
    // Chinese puts no space between characters: one there comes from a line break in the source.
    const betweenWide = Boolean(lastPushed && WIDE.test(lastPushed.text.slice(-1)) && WIDE.test(tok[0]!.text[0]!));
    const space = !atStart && pendingSpace && !betweenWide ? 1 : 0;
    pendingSpace = undefined;
    if (used + space + len <= avail) {
      if (space) push(tok[0]!.seg.code ? { text: " " } : tok[0]!.seg, " ");
      for (const p of tok) push(p.seg, p.text);
      continue;
    }
    if (!atStart && len <= avail - prefixWidth(restPrefix)) {
      newLine();
      for (const p of tok) push(p.seg, p.text);
      continue;
    }
    // Longer than a line: cut it.
    if (space && used + 1 < avail) push(tok[0]!.seg, " ");
    for (const p of tok) {
      let word = p.text;
      while (word.length) {
        const piece = sliceToWidth(word, avail - used);
        // No room, or not even for one wide character: go on on the next line.
        if (!piece) {
          newLine();
          continue;
        }
        push(p.seg, piece);
        word = word.slice(piece.length);
      }
    }
  }
  trimEnd(current);
  if (current.length > restPrefix.length || lines.length === 0 || !atStart) lines.push({ segs: current });
  return lines;
}

/** Cuts styled runs to a width without touching their spacing (for one-line rows). */
export function fitSegs(segs: Seg[], width: number): Seg[] {
  const out: Seg[] = [];
  let used = 0;
  for (const seg of segs) {
    if (used >= width) break;
    const room = width - used;
    const text = displayWidth(seg.text) <= room ? seg.text : sliceToWidth(seg.text, Math.max(0, room - 1)) + "…";
    out.push({ ...seg, text });
    used += displayWidth(text);
  }
  return out;
}

function trimEnd(segs: Seg[]): void {
  const last = segs[segs.length - 1];
  if (last && / $/.test(last.text)) last.text = last.text.replace(/ +$/, "");
}

function sameStyle(a: Seg, b: Seg): boolean {
  return a.bold === b.bold && a.italic === b.italic && a.code === b.code && a.dim === b.dim && a.heading === b.heading && a.color === b.color;
}

/** Fenced code: a dim rule on the left, long lines continued (not wrapped at words). */
export function codeLines(content: string, width: number, label?: string): Line[] {
  const rule: Seg = { text: "│ ", dim: true };
  const avail = Math.max(4, width - 2);
  const lines: Line[] = [];
  if (label) lines.push({ segs: [{ text: "┌ ", dim: true }, { text: label, dim: true }], code: true });
  for (const raw of content.replace(/\n+$/, "").split("\n")) {
    let rest = raw.replace(/\t/g, "  ");
    do {
      const piece = sliceToWidth(rest, avail) || [...rest][0]!;
      lines.push({ segs: [rule, { text: piece, code: true }], code: true });
      rest = rest.slice(piece.length);
    } while (rest.length);
  }
  return lines;
}

export function plainText(lines: Line[]): string {
  return lines.map((l) => l.segs.map((s) => s.text).join("")).join("\n");
}
