/**
 * Lesson markdown for the terminal. markdown-it's tokens become a list of lines made of
 * styled segments, wrapped to a width: a pane can then scroll by slicing lines.
 * Headings get a ■ mark, lists • or 1., fenced code a │ rule on the left, inline code is
 * coloured (or put between backticks when there is no colour).
 */
import MarkdownIt from "markdown-it";
import type Token from "markdown-it/lib/token.mjs";
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

const md = new MarkdownIt({ html: false, linkify: false });

type Style = Omit<Seg, "text">;

/** Inline tokens → styled runs. Without colour, inline code keeps its backticks. */
function inlineSegs(tokens: Token[] | null, colour: boolean, base: Style = {}): Seg[] {
  const out: Seg[] = [];
  const style: Style = { ...base };
  for (const t of tokens ?? []) {
    switch (t.type) {
      case "text":
        out.push({ ...style, text: t.content });
        break;
      case "code_inline":
        out.push({ ...style, code: true, text: colour ? t.content : `\`${t.content}\`` });
        break;
      case "strong_open":
        style.bold = true;
        break;
      case "strong_close":
        style.bold = base.bold;
        break;
      case "em_open":
        style.italic = true;
        break;
      case "em_close":
        style.italic = base.italic;
        break;
      case "softbreak":
        out.push({ ...style, text: " " });
        break;
      case "hardbreak":
        out.push({ ...style, text: "\n" });
        break;
      case "image":
        out.push({ ...style, text: `[${t.content}]` });
        break;
      default:
        if (t.content) out.push({ ...style, text: t.content });
    }
  }
  return out;
}

/** CJK characters: a line may break before or after each, no space needed. */
const WIDE = /[\u1100-\u115F\u2E80-\u303E\u3041-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{20000}-\u{3FFFD}]/u;
/** Closing punctuation never starts a line (it stays with the character before it). */
const NO_BREAK_BEFORE = /^[，。、；：！？）」』”’》〉】…～,.;:!?)\]]/;

/** A word split where lines may break inside it: between CJK characters. */
function breakable(word: string): string[] {
  if (!WIDE.test(word)) return [word];
  const parts: string[] = [];
  for (const ch of word) {
    const last = parts[parts.length - 1];
    const glue = last !== undefined && (NO_BREAK_BEFORE.test(ch) || (!WIDE.test(ch) && !WIDE.test(last.slice(-1))));
    if (glue) parts[parts.length - 1] = last + ch;
    else parts.push(ch);
  }
  return parts;
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
          const meets = i === 0 && lastText && (WIDE.test(lastText.slice(-1)) || WIDE.test(text[0]!)) && !NO_BREAK_BEFORE.test(text);
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

/** Markdown → wrapped lines. */
export function markdownLines(text: string, width: number, colour = false): Line[] {
  const tokens = md.parse(text, {});
  const lines: Line[] = [];
  const lists: Array<{ ordered: boolean; n: number }> = [];
  let pendingMarker: Seg[] | undefined;
  let quote = 0;
  const blank = () => {
    if (lines.length && lines[lines.length - 1]!.segs.length) lines.push({ segs: [] });
  };
  const indent = () => "  ".repeat(Math.max(0, lists.length - 1)) + (quote ? "│ ".repeat(quote) : "");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    switch (t.type) {
      case "heading_open": {
        const inline = tokens[i + 1]!;
        blank();
        const level = Number(t.tag.slice(1));
        const mark: Seg = { text: level <= 2 ? "■ " : "▸ ", bold: true, heading: true };
        lines.push(...wrapSegs(inlineSegs(inline.children, colour, { bold: true, heading: true }), width, [mark], [{ text: "  " }]));
        lines.push({ segs: [] });
        i += 2;
        break;
      }
      case "bullet_list_open":
      case "ordered_list_open":
        if (!lists.length) blank();
        lists.push({ ordered: t.type === "ordered_list_open", n: Number(t.attrGet("start") ?? 1) });
        break;
      case "bullet_list_close":
      case "ordered_list_close":
        lists.pop();
        if (!lists.length) lines.push({ segs: [] });
        break;
      case "list_item_open": {
        const list = lists[lists.length - 1]!;
        pendingMarker = [{ text: indent() }, { text: list.ordered ? `${list.n++}. ` : "• ", bold: list.ordered }];
        break;
      }
      case "blockquote_open":
        quote++;
        break;
      case "blockquote_close":
        quote--;
        break;
      case "paragraph_open": {
        const inline = tokens[i + 1]!;
        const marker = pendingMarker ?? [{ text: indent() }];
        const markerWidth = marker.reduce((n, s) => n + s.text.length, 0);
        pendingMarker = undefined;
        lines.push(...wrapSegs(inlineSegs(inline.children, colour), width, marker, [{ text: " ".repeat(markerWidth) }]));
        if (!t.hidden) lines.push({ segs: [] });
        i += 2;
        break;
      }
      case "fence":
      case "code_block": {
        const pad = pendingMarker ? pendingMarker.reduce((n, s) => n + s.text.length, 0) : indent().length;
        if (pendingMarker) lines.push({ segs: pendingMarker });
        pendingMarker = undefined;
        for (const l of codeLines(t.content, width - pad)) lines.push({ segs: [{ text: " ".repeat(pad) }, ...l.segs], code: true });
        lines.push({ segs: [] });
        break;
      }
      case "hr":
        lines.push({ segs: [{ text: "─".repeat(Math.max(4, Math.min(width, 40))), dim: true }] }, { segs: [] });
        break;
      default:
        break;
    }
  }
  while (lines.length && !lines[lines.length - 1]!.segs.length) lines.pop();
  return lines;
}

export function plainText(lines: Line[]): string {
  return lines.map((l) => l.segs.map((s) => s.text).join("")).join("\n");
}
