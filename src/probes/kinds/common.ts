import { z } from "zod";
import { t } from "../../i18n/index.js";
import { describeAddress } from "../../topology/resolve.js";
import type { ProbeContext } from "../types.js";

/** Fields every probe has: the node it looks at, the hint that helps, why it matters. */
export const probeBase = {
  node: z.string(),
  /** 1-based number of the step's hint that helps with this probe. */
  hint: z.number().int().min(1).optional(),
  /** Added to the failure message: what this means for the packets (not to an iptables verdict that names the learner's own rule). */
  explain: z.string().optional(),
  /** Overrides the generated one-line description. */
  title: z.string().optional(),
  /**
   * An observation: something that goes wrong on purpose at this stage ("no answer yet").
   * It is shown but never holds a step back, so a learner who is already further passes.
   */
  observe: z.boolean().default(false),
  /**
   * Set when a translation replaced title, explain or message: the original's words, so
   * that a verdict judged in English (a mistake's `says` words) reads as in English.
   */
  originalTexts: z.object({ title: z.string(), explain: z.string(), message: z.string() }).partial().optional(),
};

/** "10.0.1.50 (director)": an address in a message always says whose it is. */
export function addressWithOwner(ctx: ProbeContext, address: string): string {
  return describeAddress(ctx.topology, address);
}

export function withExplain(message: string, p: { explain?: string }): string {
  return p.explain ? t("probe.explainJoin", { message, explain: p.explain }) : message;
}

export function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Splits "ip:port" into its parts; the schema has already checked the shape. */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(":");
  return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

export const endpoint = z.string().regex(/^(\{\{[^}]+\}\}|[\d.]+):(\d+|\{\{[^}]+\}\})$/, 'must look like "ADDRESS:PORT"');
