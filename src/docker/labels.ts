/** Every resource lvs-lab creates carries these labels; lookups and cleanup go by them. */
export const LABEL = {
  product: "io.lvs-lab",
  instance: "io.lvs-lab.instance",
  lab: "io.lvs-lab.lab",
  node: "io.lvs-lab.node",
  role: "io.lvs-lab.role",
  network: "io.lvs-lab.network",
  version: "io.lvs-lab.version",
} as const;

export interface ResourceLabels {
  instance: string;
  lab: string;
  node?: string;
  role?: string;
  network?: string;
}

export function labelsFor(r: ResourceLabels, version: string): Record<string, string> {
  const out: Record<string, string> = {
    [LABEL.product]: "1",
    [LABEL.version]: version,
    [LABEL.instance]: r.instance,
    [LABEL.lab]: r.lab,
  };
  if (r.node) out[LABEL.node] = r.node;
  if (r.role) out[LABEL.role] = r.role;
  if (r.network) out[LABEL.network] = r.network;
  return out;
}

/** Docker's `label` filter: all resources of the product, or of one instance. */
export function labelFilter(instance?: string): { label: string[] } {
  return { label: instance ? [`${LABEL.product}=1`, `${LABEL.instance}=${instance}`] : [`${LABEL.product}=1`] };
}
