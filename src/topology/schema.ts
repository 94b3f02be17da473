/**
 * Topology files (topologies/<id>.yaml): the networks, nodes and addresses of one lab.
 * Addresses are written as host numbers inside each network's block, so the allocator
 * can move a whole network to a free block without touching the lesson.
 */
import { z } from "zod";
import { hostCapacity, isCidr, overlaps, parseCidr } from "./ipv4.js";

export const ROLES = ["client", "director", "backup-director", "realserver", "router"] as const;
export type Role = (typeof ROLES)[number];

const name = z.string().regex(/^[a-z][a-z0-9]{0,15}$/, "must be lower-case letters and digits, starting with a letter");

const network = z
  .object({
    subnet: z.string().refine(isCidr, "must be an IPv4 block like 10.0.1.0/24"),
    description: z.string().optional(),
    mtu: z.number().int().min(576).max(9000).optional(),
  })
  .strict();

const node = z
  .object({
    role: z.enum(ROLES),
    description: z.string().optional(),
    addresses: z.record(name, z.number().int().min(2).max(65534)).refine((a) => Object.keys(a).length > 0, "a node needs at least one network"),
    /** TCP ports the HTTP responder listens on (real servers). */
    serve: z.array(z.number().int().min(1).max(65535)).optional(),
    /** net.* sysctls set when the container is created (e.g. a router's ip_forward). */
    sysctls: z.record(z.string().regex(/^net\./, "only net.* sysctls can be set per container"), z.union([z.string(), z.number()])).optional(),
    /** Shell commands run on the node after start and on reset (templated). */
    setup: z.array(z.string()).optional(),
  })
  .strict();

const vip = z.object({ network: name, host: z.number().int().min(2).max(65534) }).strict();

export const topologySchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/),
    title: z.string(),
    networks: z.record(name, network),
    nodes: z.record(name, node),
    vips: z.record(name, vip).optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const nets = Object.entries(t.networks);
    nets.forEach(([a, na], i) => {
      for (const [b, nb] of nets.slice(i + 1)) {
        if (isCidr(na.subnet) && isCidr(nb.subnet) && overlaps(parseCidr(na.subnet), parseCidr(nb.subnet))) {
          ctx.addIssue({ code: "custom", path: ["networks", b, "subnet"], message: `overlaps network "${a}" (${na.subnet})` });
        }
      }
    });
    const taken = new Map<string, string>();
    const claim = (path: (string | number)[], net: string, host: number, owner: string) => {
      const spec = t.networks[net];
      if (!spec) {
        ctx.addIssue({ code: "custom", path, message: `unknown network "${net}" (known: ${Object.keys(t.networks).join(", ")})` });
        return;
      }
      if (isCidr(spec.subnet) && host > hostCapacity(parseCidr(spec.subnet).prefix)) {
        ctx.addIssue({ code: "custom", path, message: `host ${host} does not fit in ${spec.subnet}` });
        return;
      }
      if (host === 1) return;
      const key = `${net}/${host}`;
      const other = taken.get(key);
      if (other) ctx.addIssue({ code: "custom", path, message: `address ${net}/${host} is already used by ${other}` });
      else taken.set(key, owner);
    };
    for (const [nodeName, n] of Object.entries(t.nodes)) {
      for (const [net, host] of Object.entries(n.addresses)) claim(["nodes", nodeName, "addresses", net], net, host, nodeName);
    }
    for (const [vipName, v] of Object.entries(t.vips ?? {})) {
      if (t.nodes[vipName] || t.networks[vipName]) {
        ctx.addIssue({ code: "custom", path: ["vips", vipName], message: `"${vipName}" is already the name of a node or network` });
      }
      // A VIP may sit on the director's own address (as in the dnat lab), so it only needs a known network.
      if (!t.networks[v.network]) {
        ctx.addIssue({ code: "custom", path: ["vips", vipName, "network"], message: `unknown network "${v.network}"` });
      }
    }
    for (const netName of Object.keys(t.networks)) {
      if (t.nodes[netName]) ctx.addIssue({ code: "custom", path: ["networks", netName], message: `"${netName}" is both a network and a node` });
    }
  });

export type Topology = z.infer<typeof topologySchema>;
