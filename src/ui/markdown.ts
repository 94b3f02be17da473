/**
 * Lesson markdown for the terminal. markdown-it's tokens become a list of lines made of
 * styled segments, wrapped to a width: a pane can then scroll by slicing lines.
 * Headings get a ■ mark, lists • or 1., fenced code a │ rule on the left, inline code is
 * coloured (or put between backticks when there is no colour).
 */
import MarkdownIt from "markdown-it";
import type Token from "markdown-it/lib/token.mjs";
import { codeLines, wrapSegs, type Line, type Seg } from "../text/lines.js";

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
