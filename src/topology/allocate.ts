/**
 * Picks a free address block for every network of an instance. The topology's own
 * subnet is preferred; when it collides with a host route, another Docker network or
 * another lvs-lab instance, the next free block of the same size in a fallback pool is
 * used, so several learners can share one engine.
 */
import { formatCidr, overlaps, parseCidr, shiftBlock, type Cidr } from "./ipv4.js";
import type { Topology } from "./schema.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

/** Used by this project's machines or Docker itself: never handed out. */
export const FORBIDDEN_BLOCKS = ["192.0.2.0/24", "203.0.113.0/24", "10.255.255.0/24", "172.17.0.0/16"].map(parseCidr);

const POOLS = ["10.0.0.0/8", "198.18.0.0/15"].map(parseCidr);
const DEFAULT_POOL = POOLS[1]!;

/**
 * The preferred block, then its own pool from there on, then the other pools. Generated
 * one by one: 10.0.0.0/8 alone holds 65 536 blocks of /24, and the first free one is
 * usually near the start.
 */
function* candidates(preferred: Cidr): Generator<Cidr> {
  const own = POOLS.find((p) => overlaps(p, preferred)) ?? DEFAULT_POOL;
  const size = 2 ** (32 - preferred.prefix);
  yield preferred;
  for (const pool of [own, ...POOLS.filter((p) => p !== own)]) {
    const blocks = 2 ** (preferred.prefix - pool.prefix);
    const start = pool === own && overlaps(pool, preferred) ? (preferred.network - pool.network) / size : 0;
    const first = { network: pool.network, prefix: preferred.prefix };
    for (let i = 0; i < blocks; i++) yield shiftBlock(first, (start + i) % blocks);
  }
}

function firstFree(blocks: Iterable<Cidr>, isFree: (c: Cidr) => boolean): Cidr | undefined {
  for (const b of blocks) if (isFree(b)) return b;
  return undefined;
}

/** How many free blocks a scattered choice picks among. */
const SCATTER_SPAN = 32;

/**
 * `scatter` (a random number in [0, 1)) picks one of the first free blocks instead of the
 * first: starts in separate processes that lost a race for the same block then try
 * different ones rather than all the same next one.
 */
export function allocateSubnets(topology: Topology, used: string[], opts: { scatter?: () => number } = {}): Record<string, string> {
  const taken = [...FORBIDDEN_BLOCKS, ...used.map(parseCidr)];
  const result: Record<string, string> = {};
  for (const [name, net] of Object.entries(topology.networks)) {
    const preferred = parseCidr(net.subnet);
    const isFree = (c: Cidr) => !taken.some((t) => overlaps(t, c));
    const free = opts.scatter ? scatteredChoice(candidates(preferred), isFree, opts.scatter) : firstFree(candidates(preferred), isFree);
    if (!free) {
      throw new UserError(t("errors.noAddressBlock", { prefix: preferred.prefix, name }), t("errors.noAddressBlockHint"));
    }
    taken.push(free);
    result[name] = formatCidr(free);
  }
  return result;
}

function scatteredChoice(blocks: Iterable<Cidr>, isFree: (c: Cidr) => boolean, random: () => number): Cidr | undefined {
  const free: Cidr[] = [];
  for (const b of blocks) {
    if (isFree(b)) free.push(b);
    if (free.length === SCATTER_SPAN) break;
  }
  return free[Math.floor(random() * free.length)];
}
