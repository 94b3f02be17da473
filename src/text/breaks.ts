/**
 * Where a line of text may break: at spaces, and next to a Chinese character, except that
 * closing punctuation (，。）) never starts a line and opening punctuation (（“) never ends
 * one. Text without Chinese breaks at spaces only. Pure; shared by the help and the watch screen.
 */
const OPEN = "（“《【「『‘";
const CLOSE = "，。、；：！？）」』】》”’…";
const SHORT_ASIDE = 12;
// A run without Han characters (a word, an address, "ip_vs、ipip）") stays whole, as in English.
const PIECE = new RegExp(`\\s*(?:[${OPEN}]*\\p{Script=Han}[${CLOSE}]*|[^\\s\\p{Script=Han}]+?(?=[${OPEN}]*\\p{Script=Han}|\\s|$))`, "gu");

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
