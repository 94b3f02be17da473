/**
 * Fences every lab instance off on the engine's host: a lab container reaches its own
 * instance's networks and nothing else — not another instance's networks or any other
 * Docker network, not the host's own services (SSH, a TCP-bound Docker API, a class
 * server) on any of its addresses, not the host's LAN.
 *
 * Per bridge B of the instance, in the filter table of iptables and ip6tables:
 *
 *   INPUT                  -i B          DROP   the host itself, whatever address is asked for
 *   DOCKER-USER (FORWARD)  -i B ! -o B   DROP   routed out of the lab network
 *   DOCKER-USER (FORWARD)  -o B ! -i B   DROP   routed into it
 *
 * Traffic inside B (bridged; with br_netfilter iptables sees it as -i B -o B) is untouched.
 * Docker itself already drops what is routed between two of its bridges: that silent drop
 * is the lessons' trap (a real server's reply sent via Docker's gateway reaches the host
 * and dies there), and these rules keep it a silent drop. Interfaces, not addresses, are
 * matched: a learner with NET_ADMIN can forge any source address but not the bridge.
 *
 * Every rule carries the comment `lvs-lab:<instance>`; removal finds the rules by it, and
 * `stop --all` removes every `lvs-lab:` rule, whatever crashed before. The rules go into
 * whichever iptables backend holds Docker's own chains (nft on Debian 12).
 *
 * lvs-lab's VM sets the same rules once at boot for every bridge (vm/init) and says so in
 * its engine's labels: there an instance needs no rules of its own, and a start or stop
 * no throw-away container, which costs seconds under an emulated CPU.
 */
import type { EngineClient, LabNetwork } from "../docker/engine.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

export const RULE_COMMENT_PREFIX = "lvs-lab:";
/** The engine label of a host that fences every bridge itself, and its value. */
export const FENCE_LABEL = "io.lvs-lab.fence";
export const FENCES_EVERY_BRIDGE = "every-bridge";

export async function fencedByHost(engine: EngineClient): Promise<boolean> {
  return (await engine.labels())[FENCE_LABEL] === FENCES_EVERY_BRIDGE;
}

/** Where a rule goes: the host's INPUT, or the forwarding hook (DOCKER-USER, or FORWARD where Docker made none). */
export interface FenceRule {
  hook: "input" | "forward";
  match: string;
}

export function ruleComment(instance: string): string {
  return `${RULE_COMMENT_PREFIX}${instance}`;
}

/** The rules that fence one instance's bridges: three per bridge, the same for IPv4 and IPv6. */
export function fencePlan(networks: Array<Pick<LabNetwork, "name" | "bridge">>): FenceRule[] {
  return networks.flatMap((n) => {
    // Checked because the name goes into a shell script.
    if (!n.bridge || !/^[\w.-]{1,15}$/.test(n.bridge)) throw new UserError(t("errors.noBridge", { network: n.name, bridge: n.bridge ?? t("errors.noBridgeNamed") }));
    const b = n.bridge;
    return [
      { hook: "input", match: `-i ${b}` },
      { hook: "forward", match: `-i ${b} ! -o ${b}` },
      { hook: "forward", match: `-o ${b} ! -i ${b}` },
    ];
  });
}

/**
 * Picks the backend Docker's chains are in without creating tables in the other one
 * (listing a legacy table would register it): nft when it holds DOCKER-USER, legacy when
 * only legacy has a filter table. `retry` covers concurrent changes by Docker or other
 * starts (an iptables-nft-restore that lost the race fails; a fresh try reads anew).
 */
const PRELUDE = `
if iptables-nft -S DOCKER-USER >/dev/null 2>&1 || ! grep -qx filter /proc/net/ip_tables_names 2>/dev/null; then backend=nft; else backend=legacy; fi
retry() { tries=0; until "$@"; do tries=$((tries+1)); [ "$tries" -lt 6 ] || return 1; sleep 0.$tries; done; }
unfence() {
  rules=$($1-$backend-save -t filter | grep -E -- "--comment \\"?$2\\"?( |\$)" | sed 's/^-A /-D /') || true
  [ -z "$rules" ] || printf '*filter\\n%s\\nCOMMIT\\n' "$rules" | $1-$backend-restore -w 5 --noflush
}`;

/** The shell script (run on the engine's host) that removes an instance's rules, or every lvs-lab rule. */
export function unfenceScript(instance?: string): string {
  const pattern = instance ? ruleComment(instance) : `${RULE_COMMENT_PREFIX}[a-z0-9-]+`;
  return `${PRELUDE}
for family in iptables ip6tables; do retry unfence $family '${pattern}'; done
echo "unfenced on $backend"`;
}

/** The shell script that replaces an instance's rules by the plan's, one transaction per family. */
export function fenceScript(instance: string, rules: FenceRule[]): string {
  const comment = ruleComment(instance);
  const lines = rules.map((r) => `-I ${r.hook === "input" ? "INPUT" : "$forward"} 1 ${r.match} -m comment --comment ${comment} -j DROP`);
  return `${PRELUDE}
fence() {
  forward=DOCKER-USER
  $1-$backend -w 5 -S DOCKER-USER >/dev/null 2>&1 || forward=FORWARD
  printf '%s\\n' '*filter' ${lines.map((l) => `"${l}"`).join(" ")} COMMIT | $1-$backend-restore -w 5 --noflush
}
for family in iptables ip6tables; do retry unfence $family '${comment}'; retry fence $family; done
echo "fenced on $backend"`;
}

/** Fences a freshly created instance off; its networks must exist. */
export async function fenceInstance(engine: EngineClient, instance: string, image: string): Promise<void> {
  if (await fencedByHost(engine)) return;
  const rules = fencePlan(await engine.listNetworks(instance));
  await runOnHost(engine, image, fenceScript(instance, rules), `fencing off instance ${instance}`, (code, output) => t("errors.fenceFailed", { instance, code, output }));
}

/** Removes an instance's rules, or with no instance every lvs-lab rule on the engine's host. */
export async function unfenceInstances(engine: EngineClient, image: string, instance?: string): Promise<void> {
  if (await fencedByHost(engine)) return;
  await runOnHost(engine, image, unfenceScript(instance), instance ? `removing the firewall rules of instance ${instance}` : "removing lvs-lab's firewall rules", (code, output) =>
    instance ? t("errors.unfenceFailed", { instance, code, output }) : t("errors.unfenceAllFailed", { code, output }),
  );
}

/** `what` names the work in the engine's own errors (a timeout); `failed` is the sentence for a failing script. */
async function runOnHost(engine: EngineClient, image: string, script: string, what: string, failed: (code: number, output: string) => string): Promise<void> {
  const res = await engine.runOnHost(image, script, what);
  if (res.exitCode !== 0) throw new UserError(failed(res.exitCode, (res.stderr || res.stdout).trim().slice(0, 300)));
}
