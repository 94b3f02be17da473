/**
 * Walks the lab's packet through the base chains on one hook, in the kernel's order
 * (priority, then iptables-legacy, iptables-nft, native tables), and records what
 * every rule does to it.
 */
import { ruleApplies, TERMINAL_TARGETS, type Action, type Chain, type Hook, type Packet, type Rule, type Table } from "./model.js";

export interface Hit {
  table: Table;
  chain: Chain;
  /** Undefined when the base chain's policy decided (ACCEPT or DROP). */
  rule?: Rule;
  action: Action;
}

export interface Walk {
  /** Actions applied to the packet, in order; the last terminal one decided its fate. */
  hits: Hit[];
  /** Rules the packet met (whether or not they applied). */
  examined: Set<Rule>;
  /** Chains the packet entered. */
  visited: Set<Chain>;
  /** Rules met that lvs-lab could not evaluate, skipped. */
  ambiguous: Array<{ table: Table; rule: Rule }>;
}

/** Base chains of a hook and chain types, in the order the kernel calls them. */
export function baseChains(tables: Table[], hook: Hook, types: string[]): Array<{ table: Table; chain: Chain }> {
  return tables
    .flatMap((table) => table.chains.filter((c) => c.hook === hook && types.includes(c.type ?? "")).map((chain) => ({ table, chain })))
    .map((entry, order) => ({ ...entry, order }))
    .sort((a, b) => a.chain.priority! - b.chain.priority! || a.order - b.order);
}

const MAX_JUMPS = 16;

/** Returns the terminal hit, or undefined when the chain ends (or RETURNs) without one. */
function walkChain(table: Table, chain: Chain, packet: Packet, walk: Walk, depth: number): Hit | undefined {
  walk.visited.add(chain);
  for (const rule of chain.rules) {
    walk.examined.add(rule);
    const { applies } = ruleApplies(rule, packet);
    if (applies === undefined) walk.ambiguous.push({ table, rule });
    if (!applies) continue;
    if (rule.jump) {
      const target = table.chains.find((c) => c.name === rule.jump!.chain && !c.hook);
      const hit = target && depth < MAX_JUMPS ? walkChain(table, target, packet, walk, depth + 1) : undefined;
      if (hit) return hit;
      // A goto does not come back: when its chain ends, so does this one.
      if (rule.jump.goto) return undefined;
      continue;
    }
    if (!rule.action) continue;
    if (rule.action.target === "RETURN") return undefined;
    const hit: Hit = { table, chain, rule, action: rule.action };
    walk.hits.push(hit);
    if (TERMINAL_TARGETS.has(rule.action.target)) return hit;
  }
  return undefined;
}

export function walkHook(tables: Table[], hook: Hook, types: string[], packet: Packet): Walk {
  const walk: Walk = { hits: [], examined: new Set(), visited: new Set(), ambiguous: [] };
  for (const { table, chain } of baseChains(tables, hook, types)) {
    let hit = walkChain(table, chain, packet, walk, 0);
    if (!hit && chain.policy) {
      hit = { table, chain, action: { target: chain.policy } };
      walk.hits.push(hit);
    }
    // ACCEPT ends only this base chain: the next one on the hook still sees the packet. A
    // NAT target binds the connection, so later nat chains are skipped; DROP ends it all.
    if (hit && hit.action.target !== "ACCEPT") break;
  }
  return walk;
}
