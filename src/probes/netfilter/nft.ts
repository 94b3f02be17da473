/**
 * Native nftables rules (`nft -j list ruleset`), read into the common rule model; the text
 * listing (`nft -a list ruleset`) gives each rule's words as the learner wrote them.
 */
import { DOCKER_CHAINS } from "./iptables-save.js";
import { protocolName, type Action, type Chain, type Field, type Hook, type Match, type Rule, type Table } from "./model.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The text of every rule, keyed "family table chain handle". */
function ruleTexts(listing: string): Map<string, string> {
  const texts = new Map<string, string>();
  let table = "";
  let chain = "";
  for (const raw of listing.split("\n")) {
    const line = raw.trim();
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) table = `${t[1]} ${t[2]}`;
    const c = /^chain (\S+) \{/.exec(line);
    if (c) chain = c[1]!;
    const rule = /^(.*\S)\s+# handle (\d+)$/.exec(line);
    if (rule && !t && !c) {
      const words = rule[1]!.replace(/\bcounter packets \d+ bytes \d+\s*/g, "").replace(/"/g, "").trim();
      texts.set(`${table} ${chain} ${rule[2]}`, words);
    }
  }
  return texts;
}

/** The right-hand side of a comparison as values a Match understands; undefined for maps and the like. */
function values(right: unknown, field: Field): string[] | undefined {
  if (typeof right === "string" || typeof right === "number") return [field === "protocol" ? protocolName(String(right)) : String(right)];
  if (!isObject(right)) return undefined;
  const prefix = right.prefix;
  if (isObject(prefix)) return [`${String(prefix.addr)}/${String(prefix.len)}`];
  const range = right.range;
  if (Array.isArray(range)) return [`${String(range[0])}${field === "dport" ? ":" : "-"}${String(range[1])}`];
  const set = right.set;
  if (Array.isArray(set)) {
    const all = set.map((element) => values(element, field));
    return all.every(Boolean) ? all.flat() as string[] : undefined;
  }
  return undefined;
}

const isTcpFlags = (v: unknown) => isObject(v) && isObject(v.payload) && v.payload.protocol === "tcp" && v.payload.field === "flags";
const flagList = (v: unknown) => (Array.isArray(v) ? v : [v]).map((f) => String(f).toUpperCase()).join(",");

/** "tcp flags syn / syn,rst" ({"&": [flags, mask]} == set), "tcp flags syn" (any of), as "MASK:SET" or "MASK:*". */
function tcpFlags(left: Json, right: unknown, op: unknown): string | undefined {
  const masked = left["&"];
  if (Array.isArray(masked) && isTcpFlags(masked[0])) return `${flagList(masked[1])}:${flagList(right)}`;
  if (!isTcpFlags(left)) return undefined;
  return op === "in" ? `${flagList(right)}:*` : `ALL:${flagList(right)}`;
}

const META_FIELDS: Record<string, Field> = { iifname: "in", iif: "in", oifname: "out", oif: "out", l4proto: "protocol" };
const IP_FIELDS: Record<string, Field> = { saddr: "source", daddr: "destination", protocol: "protocol" };

/** One comparison: the conditions it makes, or a short name of what lvs-lab cannot evaluate. */
function comparison(match: Json): Match[] | string {
  const { op, left, right } = match;
  if (!isObject(left) || (op !== "==" && op !== "!=" && op !== "in")) return "a comparison lvs-lab does not read";
  const negated = op === "!=";
  const meta = isObject(left.meta) ? String(left.meta.key) : undefined;
  const payload = isObject(left.payload) ? left.payload : undefined;
  let field: Field | undefined;
  const implied: Match[] = [];
  if (meta === "nfproto") return right === "ipv4" && !negated ? [] : "meta nfproto";
  if (isObject(left.ct) && left.ct.key === "state") {
    const states = (Array.isArray(right) ? right : [right]).map((v) => String(v).toUpperCase());
    return [{ field: "state", negated, values: states }];
  }
  const flags = tcpFlags(left, right, op);
  if (flags) return [{ field: "protocol", negated: false, values: ["tcp"] }, { field: "tcpflags", negated, values: [flags] }];
  if (meta) field = META_FIELDS[meta];
  if (payload?.protocol === "ip") field = IP_FIELDS[String(payload.field)];
  if (payload && (payload.protocol === "tcp" || payload.protocol === "udp")) {
    // "tcp dport 8001" also says the packet is TCP, whatever the port comparison.
    implied.push({ field: "protocol", negated: false, values: [String(payload.protocol)] });
    if (payload.field === "dport") field = "dport";
    else return `${String(payload.protocol)} ${String(payload.field)}`;
  }
  if (!field) return meta ? `meta ${meta}` : Object.keys(left).join(" ");
  const vals = values(right, field);
  if (!vals) return `${field} against a map or expression`;
  return [...implied, { field, negated, values: vals }];
}

/** "10.0.1.210:8000" from {"addr": "10.0.1.210", "port": 8000}; undefined when it is a map or expression. */
function natTo(args: unknown): string | undefined | false {
  if (!isObject(args)) return undefined;
  const addr = args.addr === undefined ? "" : typeof args.addr === "string" ? args.addr : false;
  const port = args.port === undefined ? "" : typeof args.port === "number" ? `:${args.port}` : false;
  if (addr === false || port === false) return false;
  return `${addr}${port}` || undefined;
}

const VERDICTS: Record<string, string> = { accept: "ACCEPT", drop: "DROP", reject: "REJECT", return: "RETURN", queue: "QUEUE" };
const NAT_STATEMENTS: Record<string, string> = { dnat: "DNAT", snat: "SNAT", masquerade: "MASQUERADE", redirect: "REDIRECT" };

function parseRule(expr: unknown[], text: string): Rule {
  const rule: Rule = { text, matches: [], unknown: [] };
  const seen = new Set<string>();
  const setAction = (action: Action) => (rule.action ??= action);
  for (const statement of expr.filter(isObject)) {
    const [kind, args] = Object.entries(statement)[0] ?? [];
    if (kind === "match" && isObject(args)) {
      const result = comparison(args);
      if (typeof result === "string") rule.unknown.push(result);
      for (const m of typeof result === "string" ? [] : result) {
        // "tcp dport 8001" after "meta l4proto tcp" says tcp twice: one condition is enough.
        if (seen.has(JSON.stringify(m))) continue;
        seen.add(JSON.stringify(m));
        rule.matches.push(m);
      }
    } else if (kind && VERDICTS[kind]) {
      setAction({ target: VERDICTS[kind] });
    } else if ((kind === "jump" || kind === "goto") && isObject(args)) {
      rule.jump = { chain: String(args.target), goto: kind === "goto" };
    } else if (kind && NAT_STATEMENTS[kind]) {
      const to = kind === "redirect" || kind === "masquerade" ? (isObject(args) && args.port !== undefined ? String(args.port) : undefined) : natTo(args);
      if (to === false) rule.unknown.push(`${kind} to a map or expression`);
      else setAction({ target: NAT_STATEMENTS[kind]!, ...(to ? { to } : {}) });
    } else if (kind === "xt" && isObject(args)) {
      // iptables-nft's own extensions in a table it cannot list: the text shows their arguments.
      if (args.type === "match") rule.unknown.push(`-m ${String(args.name)}`);
      else {
        const to = /\b[ds]nat to (\S+)/.exec(text)?.[1];
        setAction({ target: String(args.name), ...(to ? { to } : {}) });
      }
    } else if (kind === "mangle" && isObject(args) && JSON.stringify(args.key).includes('"maxseg"')) {
      setAction({ target: "TCPMSS", to: isObject(args.value) && "rt" in args.value ? "pmtu" : String(args.value) });
    } else if (kind === "limit" || kind === "quota" || kind === "ct count") {
      rule.unknown.push(kind);
    }
  }
  return rule;
}

/**
 * Native tables for IPv4 (families ip and inet). Tables that iptables-nft lists (`ownedByIptables`,
 * names of family ip) are left out: their rules are read from iptables-nft-save already.
 */
export function parseNftRuleset(json: string, listing: string, ownedByIptables: Set<string>): Table[] {
  const start = json.indexOf("{");
  let entries: unknown[] = [];
  try {
    const parsed = start < 0 ? undefined : (JSON.parse(json.slice(start).split("\n")[0]!) as Json);
    entries = Array.isArray(parsed?.nftables) ? parsed.nftables : [];
  } catch {
    entries = [];
  }
  const texts = ruleTexts(listing);
  const tables = new Map<string, Table>();
  const owned = (family: unknown, name: unknown) => family === "ip" && ownedByIptables.has(String(name));
  for (const entry of entries.filter(isObject)) {
    const { table, chain, rule } = entry;
    if (isObject(table) && (table.family === "ip" || table.family === "inet") && !owned(table.family, table.name)) {
      tables.set(`${String(table.family)} ${String(table.name)}`, { backend: `nftables table ${String(table.family)} ${String(table.name)}`, name: String(table.name), chains: [] });
    }
    if (isObject(chain) && !DOCKER_CHAINS.test(String(chain.name))) {
      const c: Chain = { name: String(chain.name), rules: [] };
      if (typeof chain.hook === "string") {
        Object.assign(c, { hook: chain.hook as Hook, type: String(chain.type), priority: Number(chain.prio), policy: chain.policy === "drop" ? "DROP" : "ACCEPT" });
      }
      tables.get(`${String(chain.family)} ${String(chain.table)}`)?.chains.push(c);
    }
    if (isObject(rule) && Array.isArray(rule.expr)) {
      const key = `${String(rule.family)} ${String(rule.table)}`;
      const text = texts.get(`${key} ${String(rule.chain)} ${String(rule.handle)}`) ?? `rule ${String(rule.handle)}`;
      const parsed = parseRule(rule.expr, text);
      if (parsed.jump && DOCKER_CHAINS.test(parsed.jump.chain)) continue;
      tables.get(key)?.chains.find((c) => c.name === rule.chain)?.rules.push(parsed);
    }
  }
  return [...tables.values()];
}
