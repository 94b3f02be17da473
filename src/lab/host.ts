import { readFile } from "node:fs/promises";
import type { EngineClient } from "../docker/engine.js";
import { debugLog } from "../debug.js";
import { formatCidr, isCidr } from "../topology/ipv4.js";

/**
 * Every IPv4 block a new lab network must avoid: the engine's networks (lvs-lab's or not)
 * and, for a local engine, this machine's routes. What is not an IPv4 block (an IPv6
 * network on the engine) cannot collide with a lab's IPv4 subnets: it is skipped.
 */
export async function usedIpv4Blocks(engine: EngineClient): Promise<string[]> {
  const used = [...(await engine.usedSubnets()), ...(engine.isLocal() ? await hostRoutes() : [])];
  const { ipv4, skipped } = splitIpv4Blocks(used);
  if (skipped.length) debugLog("subnets", `not IPv4, skipped: ${skipped.join(", ")}`);
  return ipv4;
}

export function splitIpv4Blocks(blocks: string[]): { ipv4: string[]; skipped: string[] } {
  return { ipv4: blocks.filter(isCidr), skipped: blocks.filter((b) => !isCidr(b)) };
}

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
