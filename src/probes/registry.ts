import { z } from "zod";
import { addressProbe } from "./kinds/address.js";
import { commandProbe } from "./kinds/command.js";
import { httpProbe } from "./kinds/http.js";
import { ipvsProbe } from "./kinds/ipvs.js";
import { iptablesProbe } from "./kinds/iptables.js";
import { neighbourProbe } from "./kinds/neighbour.js";
import { persistenceProbe } from "./kinds/persistence.js";
import { processProbe } from "./kinds/process.js";
import { restartProbe } from "./kinds/restart.js";
import { routeProbe } from "./kinds/route.js";
import { sysctlProbe } from "./kinds/sysctl.js";
import type { ProbeKind } from "./types.js";

export const PROBE_KINDS = [commandProbe, sysctlProbe, addressProbe, routeProbe, iptablesProbe, ipvsProbe, httpProbe, neighbourProbe, processProbe, persistenceProbe, restartProbe] as const;

export type Probe = z.infer<(typeof PROBE_KINDS)[number]["schema"]>;

const byKind = new Map<string, ProbeKind<Probe>>(PROBE_KINDS.map((k) => [k.kind, k as unknown as ProbeKind<Probe>]));

export function probeKind(kind: string): ProbeKind<Probe> {
  const k = byKind.get(kind);
  if (!k) throw new Error(`unknown probe kind ${kind}`);
  return k;
}

/** The nodes a check restarts: such a check runs only when asked for, never on its own (automatic checks, later steps). */
export function restartedNodes(probes: Probe[]): string[] {
  return [...new Set(probes.flatMap((p) => probeKind(p.kind).restarts?.(p) ?? []))];
}

const kindNames = PROBE_KINDS.map((k) => k.kind);

/** One probe as written in a check block; an unknown kind gets a message that lists the known ones. */
export const probeSchema = z
  .object({ kind: z.string({ required_error: `every probe needs a kind (one of ${kindNames.join(", ")})` }) })
  .passthrough()
  .superRefine((p, ctx) => {
    if (!byKind.has(p.kind)) ctx.addIssue({ code: "custom", path: ["kind"], message: `unknown probe kind "${p.kind}" (known: ${kindNames.join(", ")})` });
  })
  .transform((p, ctx) => {
    const kind = byKind.get(p.kind);
    if (!kind) return z.NEVER;
    const parsed = kind.schema.safeParse(p);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: "custom", message: issue.message } as z.IssueData);
      return z.NEVER;
    }
    return parsed.data;
  });

export const checkBlockSchema = z.array(probeSchema).min(1, "a check block needs at least one probe");
