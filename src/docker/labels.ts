/** Every resource lvs-lab creates carries these labels; lookups and cleanup go by them. */
import { VERSION } from "../version.js";

export const LABEL = {
  product: "io.lvs-lab",
  instance: "io.lvs-lab.instance",
  lab: "io.lvs-lab.lab",
  node: "io.lvs-lab.node",
  role: "io.lvs-lab.role",
  network: "io.lvs-lab.network",
  version: "io.lvs-lab.version",
} as const;

/** The instance label of short-lived helper containers (the kernel check): no lab instance. */
export const ONE_SHOT_INSTANCE = "__probe__";

export interface ResourceLabels {
  instance: string;
  lab: string;
  node?: string;
  role?: string;
  network?: string;
}

/** What marks anything as lvs-lab's own (images and one-shot containers too). */
export function productLabels(): Record<string, string> {
  return { [LABEL.product]: "1", [LABEL.version]: VERSION };
}

export function labelsFor(r: ResourceLabels): Record<string, string> {
  const out: Record<string, string> = { ...productLabels(), [LABEL.instance]: r.instance, [LABEL.lab]: r.lab };
  if (r.node) out[LABEL.node] = r.node;
  if (r.role) out[LABEL.role] = r.role;
  if (r.network) out[LABEL.network] = r.network;
  return out;
}

/** Docker's `label` filter: all resources of the product, or of one instance. */
export function labelFilter(instance?: string): { label: string[] } {
  return { label: instance ? [`${LABEL.product}=1`, `${LABEL.instance}=${instance}`] : [`${LABEL.product}=1`] };
}
