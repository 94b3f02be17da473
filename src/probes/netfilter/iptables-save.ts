/** `iptables-legacy-save` and `iptables-nft-save` output, read into the common rule model. */
import { protocolName, type Chain, type Field, type Hook, type Match, type Rule, type Table } from "./model.js";

const BUILTIN_HOOKS: Record<string, Hook> = {
  PREROUTING: "prerouting",
  INPUT: "input",
  FORWARD: "forward",
  OUTPUT: "output",
  POSTROUTING: "postrouting",
};

/** Where a table's built-in chain sits among the chains on its hook (NF_IP_PRI_* in netfilter_ipv4.h). */
function builtinPriority(table: string, chain: string): number {
  if (table === "raw") return -300;
  if (table === "mangle") return -150;
  if (table === "nat") return chain === "PREROUTING" || chain === "OUTPUT" ? -100 : 100;
  if (table === "security") return 50;
  return 0;
}

/** Docker's embedded DNS rules inside every container: not the learner's. */
export const DOCKER_CHAINS = /^DOCKER_(OUTPUT|POSTROUTING)$/;

const CONDITIONS: Record<string, Field> = {
  "-i": "in", "--in-interface": "in", "-o": "out", "--out-interface": "out",
  "-s": "source", "--source": "source", "-d": "destination", "--destination": "destination",
  "-p": "protocol", "--protocol": "protocol",
  "--dport": "dport", "--destination-port": "dport", "--dports": "dport", "--destination-ports": "dport",
};
/** Modules whose options the conditions above already cover, or that match everything. */
const TRANSPARENT_MODULES = new Set(["tcp", "udp", "multiport", "comment", "conntrack", "state"]);
/** Target options that say where the packet goes; `--to` is iptables' abbreviation of the first two. */
const TO_OPTIONS = new Set(["--to-destination", "--to-source", "--to", "--to-ports", "--set-mss"]);

/** Splits a saved rule into words; iptables-save quotes comments that hold spaces. */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

const isOption = (w: string | undefined) => w !== undefined && w.startsWith("-");

/** "-A PREROUTING -i eth0 -p tcp --dport 8001 …": what the learner typed, without -m tcp or /32. */
function displayText(line: string): string {
  return line.replace(/ -p (tcp|udp) -m \1\b/g, " -p $1").replace(/( -[sd] [\d.]+)\/32\b/g, "$1");
}

function parseRule(line: string, userChains: Set<string>): Rule {
  const w = words(line).slice(2);
  const rule: Rule = { text: displayText(line), matches: [], unknown: [] };
  let negated = false;
  for (let i = 0; i < w.length; i++) {
    const word = w[i]!;
    const field = CONDITIONS[word];
    if (word === "!") {
      negated = true;
      continue;
    }
    if (field) {
      const value = w[++i] ?? "";
      const values = field === "dport" ? value.split(",") : [field === "protocol" ? protocolName(value) : value];
      rule.matches.push({ field, negated, values } satisfies Match);
    } else if (word === "-m" || word === "--match") {
      const module = w[++i] ?? "";
      if (!TRANSPARENT_MODULES.has(module)) {
        // Everything up to the next module, condition or target belongs to this module.
        const options = [word, module];
        while (i + 1 < w.length && !["-m", "--match", "-j", "--jump", "-g", "--goto"].includes(w[i + 1]!) && !CONDITIONS[w[i + 1]!]) options.push(w[++i]!);
        rule.unknown.push(options.join(" "));
      }
    } else if (word === "--ctstate" || word === "--state") {
      rule.matches.push({ field: "state", negated, values: (w[++i] ?? "").split(",") });
    } else if (word === "--tcp-flags" || word === "--syn") {
      const value = word === "--syn" ? "FIN,SYN,RST,ACK:SYN" : `${w[++i] ?? ""}:${w[++i] ?? ""}`;
      rule.matches.push({ field: "tcpflags", negated, values: [value] });
    } else if (word === "--comment") {
      i++;
    } else if (word === "-j" || word === "--jump" || word === "-g" || word === "--goto") {
      const target = w[++i] ?? "";
      if (userChains.has(target)) rule.jump = { chain: target, goto: word === "-g" || word === "--goto" };
      else rule.action = { target };
      for (let k = i + 1; k < w.length; k++) {
        if (TO_OPTIONS.has(w[k]!) && rule.action) rule.action.to = w[k + 1];
        if (w[k] === "--clamp-mss-to-pmtu" && rule.action) rule.action.to = "pmtu";
      }
      break;
    } else if (isOption(word)) {
      const options = [negated ? `! ${word}` : word];
      while (i + 1 < w.length && !isOption(w[i + 1]) && w[i + 1] !== "!") options.push(w[++i]!);
      rule.unknown.push(options.join(" "));
    }
    negated = false;
  }
  return rule;
}

/** Every table in the output, with its chains in order; `backend` names the tool that shows them. */
export function parseIptablesSave(output: string, backend: string): Table[] {
  const tables: Table[] = [];
  const lines = output.split("\n").map((l) => l.trim());
  let table: Table | undefined;
  let userChains = new Set<string>();
  lines.forEach((line, index) => {
    if (line.startsWith("*")) {
      table = { backend, name: line.slice(1), chains: [] };
      tables.push(table);
      // A jump target is a chain of this table when the table declares it (":NAME - [0:0]").
      const end = lines.indexOf("COMMIT", index);
      userChains = new Set(lines.slice(index, end < 0 ? undefined : end).filter((l) => /^:\S+ - /.test(l)).map((l) => l.slice(1).split(" ")[0]!));
      return;
    }
    if (!table) return;
    const declared = /^:(\S+) (\S+)/.exec(line);
    if (declared) {
      const [, name, policy] = declared;
      if (DOCKER_CHAINS.test(name!)) return;
      const chain: Chain = { name: name!, rules: [] };
      if (policy !== "-" && BUILTIN_HOOKS[name!]) {
        Object.assign(chain, { hook: BUILTIN_HOOKS[name!], type: table.name, priority: builtinPriority(table.name, name!), policy: policy === "DROP" ? "DROP" : "ACCEPT" });
      }
      table.chains.push(chain);
      return;
    }
    const appended = /^-A (\S+) /.exec(line);
    if (!appended || DOCKER_CHAINS.test(appended[1]!)) return;
    const rule = parseRule(line, userChains);
    if (rule.jump && DOCKER_CHAINS.test(rule.jump.chain)) return;
    table.chains.find((c) => c.name === appended[1])?.rules.push(rule);
  });
  return tables;
}
