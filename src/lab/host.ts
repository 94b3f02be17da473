import { readFile } from "node:fs/promises";
import { formatCidr } from "../topology/ipv4.js";

/**
 * The blocks this machine routes to (from /proc/net/route), default routes excepted:
 * a lab network on top of one of them would hijack the host's own traffic.
 */
export async function hostRoutes(): Promise<string[]> {
  const text = await readFile("/proc/net/route", "utf8").catch(() => "");
  return parseProcNetRoute(text);
}

/** /proc/net/route holds little-endian hex: destination and mask per line. */
export function parseProcNetRoute(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const dest = leHexToInt(cols[1]!);
    const mask = leHexToInt(cols[7]!);
    const prefix = mask.toString(2).replace(/0/g, "").length;
    if (prefix === 0) continue;
    out.add(formatCidr({ network: dest, prefix }));
  }
  return [...out];
}

function leHexToInt(hex: string): number {
  const bytes = hex.match(/../g) ?? [];
  return bytes.reverse().reduce((acc, b) => acc * 256 + parseInt(b, 16), 0);
}
