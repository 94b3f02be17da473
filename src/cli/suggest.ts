/**
 * Which command (or option) a typo meant. Commander ranks by edit distance alone, so `stat`
 * gets `start` (one letter added) rather than `status`, which it begins: here a name that
 * the typed word begins comes first, then the fewest edits.
 */

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** More edits than this, or fewer than 40 % of the letters kept, is not a typo of that name. */
const MAX_EDITS = 3;

/** The names `typed` most likely meant, best first; empty when none is close. */
export function suggestions(typed: string, names: readonly string[]): string[] {
  const strip = (s: string) => s.replace(/^--?/, "");
  const word = strip(typed);
  const ranked = names
    .map((name) => {
      const bare = strip(name);
      const distance = editDistance(word, bare);
      const begins = word.length >= 2 && bare.startsWith(word);
      const similar = distance <= MAX_EDITS && (Math.max(word.length, bare.length) - distance) / Math.max(word.length, bare.length) > 0.4;
      return { name, distance, begins, close: begins || similar };
    })
    .filter((r) => r.close && r.name !== typed);
  const prefixed = ranked.filter((r) => r.begins);
  if (prefixed.length) return prefixed.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name)).map((r) => r.name);
  const best = Math.min(...ranked.map((r) => r.distance));
  return ranked.filter((r) => r.distance === best).map((r) => r.name).sort();
}
