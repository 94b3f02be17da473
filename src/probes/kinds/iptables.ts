import { z } from "zod";
import { parseIptablesSave, type IptablesRule } from "../parse.js";
import type { ProbeKind } from "../types.js";
import { probeBase, withExplain } from "./common.js";

const ruleFields = z
  .object({
    protocol: z.string().optional(),
    in: z.string().optional(),
    out: z.string().optional(),
    source: z.string().optional(),
    destination: z.string().optional(),
    dport: z.union([z.string(), z.number()]).transform(String).optional(),
    target: z.string().optional(),
    to: z.string().optional(),
  })
  .strict();

const schema = z
  .object({
    kind: z.literal("iptables"),
    ...probeBase,
    table: z.enum(["filter", "nat", "mangle", "raw"]).default("filter"),
    chain: z.string(),
    rule: ruleFields,
    present: z.boolean().default(true),
  })
  .strict();
export type IptablesProbe = z.infer<typeof schema>;
type Field = keyof z.infer<typeof ruleFields>;

const FIELD_WORDS: Record<Field, string> = {
  protocol: "protocol",
  in: "incoming interface (-i)",
  out: "outgoing interface (-o)",
  source: "source (-s)",
  destination: "destination (-d)",
  dport: "destination port (--dport)",
  target: "target (-j)",
  to: "--to-destination",
};

function normalise(field: Field, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return field === "source" || field === "destination" ? value.replace(/\/32$/, "") : value;
}

function mismatches(rule: IptablesRule, wanted: z.infer<typeof ruleFields>): Field[] {
  return (Object.keys(wanted) as Field[]).filter((f) => normalise(f, rule.args[f]) !== normalise(f, wanted[f]) || rule.negated.has(f));
}

function show(p: IptablesProbe): string {
  const r = p.rule;
  return [
    `-t ${p.table} -A ${p.chain}`,
    r.in && `-i ${r.in}`,
    r.out && `-o ${r.out}`,
    r.source && `-s ${r.source}`,
    r.destination && `-d ${r.destination}`,
    r.protocol && `-p ${r.protocol}`,
    r.dport && `--dport ${r.dport}`,
    r.target && `-j ${r.target}`,
    r.to && `--to-destination ${r.to}`,
  ]
    .filter(Boolean)
    .join(" ");
}

export const iptablesProbe: ProbeKind<IptablesProbe> = {
  kind: "iptables",
  schema,
  describe: (p) => p.title ?? `${p.node}: iptables ${show(p)}`,
  // Both back-ends: a rule added with iptables-legacy is invisible to iptables-nft and vice versa.
  collect: (p) => [{ round: 0, node: p.node, script: `iptables-legacy-save -t ${p.table} 2>/dev/null; iptables-nft-save -t ${p.table} 2>/dev/null; true` }],
  judge(p, [out]) {
    const rules = parseIptablesSave(out!.output).filter((r) => r.table === p.table && r.chain === p.chain);
    const exact = rules.find((r) => mismatches(r, p.rule).length === 0);
    if (!p.present) {
      if (!exact) return { ok: true, message: `${p.node} has no rule like ${show(p)}.` };
      return { ok: false, message: withExplain(`${p.node} still has the rule "-A ${p.chain} ${exact.spec}".`, p) };
    }
    if (exact) return { ok: true, message: `${p.node} has "-A ${p.chain} ${exact.spec}" in the ${p.table} table.` };
    if (!rules.length) {
      return { ok: false, message: withExplain(`${p.node} has no rule in the ${p.table} table's ${p.chain} chain; expected ${show(p)}.`, p) };
    }
    const closest = [...rules].sort((a, b) => mismatches(a, p.rule).length - mismatches(b, p.rule).length)[0]!;
    const diffs = mismatches(closest, p.rule).map(
      (f) => `${FIELD_WORDS[f]} is ${closest.negated.has(f) ? "negated " : ""}${closest.args[f] ?? "not set"}, expected ${p.rule[f]}`,
    );
    return { ok: false, message: withExplain(`${p.node}'s rule "-A ${p.chain} ${closest.spec}" is close but its ${diffs.join("; ")}.`, p) };
  },
};
