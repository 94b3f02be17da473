/**
 * Where a line of text may break (kinsoku): at spaces, and next to a Chinese character,
 * except that closing punctuation (，。）) never starts a line and opening punctuation
 * (（“) never ends one. Text without Chinese breaks at spaces only. The one rule set of
 * lvs-lab: the help, the lesson panes and the watch screen all wrap by it.
 */
export const OPENING = "（“《【「『‘〈([";
export const CLOSING = "，。、；：！？）」』】》〉”’…～,.;:!?)]";
const SHORT_ASIDE = 12;

const inClass = (chars: string) => chars.replace(/[\]\\^-]/g, "\\$&");
const OPEN = inClass(OPENING);
const CLOSE = inClass(CLOSING);
// A run without Han characters (a word, an address, "ip_vs、ipip）") stays whole, as in English.
const PIECE = new RegExp(`\\s*(?:[${OPEN}]*\\p{Script=Han}[${CLOSE}]*|[^\\s\\p{Script=Han}]+?(?=[${OPEN}]*\\p{Script=Han}|\\s|$))`, "gu");

/** Closing punctuation: it stays with the character before it. */
export function closes(ch: string): boolean {
  return CLOSING.includes(ch);
}

/** Opening punctuation: it stays with the character after it. */
export function opens(ch: string): boolean {
  return OPENING.includes(ch);
}

/** The pieces of `line`, each with the whitespace before it: joined, they give `line` back (less trailing spaces). */
export function breakPieces(line: string): string[] {
  const pieces: string[] = [];
  let open = -1;
  for (const piece of line.match(PIECE) ?? []) {
    // A short aside in full-width brackets without spaces, such as （默认："5"）, stays on one line.
    if (/^\s/.test(piece)) open = -1;
    if (open >= 0) pieces[open] += piece;
    else pieces.push(piece);
    if (piece.includes("（")) open = pieces.length - 1;
    if (open >= 0 && (piece.includes("）") || [...pieces[open]!].length > SHORT_ASIDE)) open = -1;
  }
  return pieces;
}
