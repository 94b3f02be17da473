/**
 * The zh-CN catalogue renders the probes' verdicts from recorded outputs: the same judgment
 * as in English, in Chinese, with nothing left raw ({{variables}}, catalogue keys).
 */
import { afterEach, describe, expect, it } from "vitest";
import { alternatives, inLanguage, language, sentences, setLanguage, t } from "../src/i18n/index.js";
import { readFileSync } from "node:fs";
import { checkBlockSchema, probeKind } from "../src/probes/registry.js";
import { renderProbe } from "../src/probes/runner.js";
import type { ProbeContext } from "../src/probes/types.js";
import { parseTopology } from "../src/topology/load.js";
import { resolveTopology, templateVariables } from "../src/topology/resolve.js";
import { judgeRecorded } from "./helpers/recorded.js";
import { loadLab } from "../src/lesson/load.js";
import { CHECK_TEXT_FIELDS } from "../src/lesson/markdown-lesson.js";
import type { Probe } from "../src/probes/registry.js";

const natTopology = resolveTopology(parseTopology(readFileSync(new URL("../topologies/nat.yaml", import.meta.url), "utf8"), "nat.yaml"), {});
const natIfaces = { director: { ext: "eth0", int: "eth1" }, rs1: { int: "eth0" }, rs2: { int: "eth0" }, client: { ext: "eth0" } };
const nat: ProbeContext = { topology: natTopology, ifaces: natIfaces, vars: templateVariables(natTopology, natIfaces, "nat") };

/** Judges one probe of the nat lab (as written in a check block) on canned outputs. */
function judgeNat(yaml: object, ...outputs: Array<string | [number, string]>): string {
  const [probe] = checkBlockSchema.parse([yaml]);
  const p = renderProbe(probe!, nat.vars);
  return probeKind(p.kind).judge(p, outputs.map((o) => (typeof o === "string" ? { exitCode: 0, output: o } : { exitCode: o[0], output: o[1] })), nat).message;
}

/** An http probe's outputs in the nat lab: the requests, then each node's capture, `replies` reply frames leaving the director. */
function httpOutputs(requests: string, replies = 0, directorListens = true): string[] {
  const frame = "1795803231.555424 eth0  Out ifindex 26 02:42:c6:12:00:32 ethertype IPv4 (0x0800), length 66: 198.51.100.50.80 > 198.51.100.100.34312: Flags [.], ack 1, win 64, length 0\n";
  return [requests, ...Object.keys(natTopology.nodes).flatMap((n) => [n !== "director" || directorListens ? "--- capture\nstarted\n" : "--- capture\n", `--- capture\nstopped\n--- packets\n${n === "director" ? frame.repeat(replies) : ""}`])];
}

function httpVerdicts(): string[] {
  const probe = { kind: "http", to: "{{vip}}:80", count: 4, expect: { servers: ["rs1", "rs2"], clientAddress: "{{client.ext}}", replies: "direct" } };
  const ok = "ok rs1 saw 198.51.100.100:1\nok rs2 saw 198.51.100.100:2\nok rs1 saw 198.51.100.100:3\nok rs2 saw 198.51.100.100:4\n";
  const weighted = { kind: "http", to: "{{vip}}:80", count: 8, expect: { spread: { rs1: 3, rs2: 1 }, tolerance: 0.15 } };
  return [
    judgeNat(probe, ...httpOutputs(ok)),
    judgeNat(probe, ...httpOutputs(ok, 12)),
    judgeNat(probe, ...httpOutputs(ok, 0, false)),
    judgeNat(probe, ...httpOutputs(ok.replace(/rs2/g, "rs1"))),
    judgeNat(probe, ...httpOutputs(ok.replace(/198\.51\.100\.100/g, "10.0.1.50"))),
    judgeNat(probe, ...httpOutputs("fail 28\nfail 28\nok rs1 saw 198.51.100.100:1\nfail 7\n")),
    judgeNat({ ...probe, expect: { answers: "none" } }, ...httpOutputs("fail 28\nfail 7\nfail 28\nfail 28\n")),
    judgeNat(weighted, "ok rs1 saw 1.1.1.1:1\n".repeat(4) + "ok rs2 saw 1.1.1.1:1\n".repeat(4)),
  ];
}

/** The LVS labs' verdicts: IPVS tables, addresses on lo, ARP entries, commands. */
function lvsVerdicts(): string[] {
  const ipvs = {
    kind: "ipvs", node: "director", service: "{{vip}}:80", scheduler: "rr",
    realServers: [{ address: "{{rs1.int}}:8000", method: "masq" }, { address: "{{rs2.int}}:8000", method: "masq", weight: 1 }],
  };
  const vipOnLo = { kind: "address", node: "rs1", address: "{{vip}}/32", iface: "lo" };
  const arp = { kind: "neighbour", node: "client", address: "{{vip}}", owner: "director" };
  const links = ["client", "director", "rs1", "rs2"].map((_, i) => `2: eth0@if3: <BROADCAST> mtu 1500 \\    link/ether 02:42:00:00:00:0${i} brd ff:ff:ff:ff:ff:ff`);
  return [
    judgeNat(ipvs, ""),
    judgeNat(ipvs, "-A -t 198.51.100.50:80 -s wlc\n"),
    judgeNat(ipvs, "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:80 -g -w 1\n"),
    judgeNat(ipvs, "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:8000 -m -w 1\n-a -t 198.51.100.50:80 -r 10.0.1.211:8000 -m -w 0\n"),
    judgeNat(ipvs, "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:80 -m -w 1\n"),
    judgeNat(ipvs, "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:8000 -m -w 1\n-a -t 198.51.100.50:80 -r 10.0.1.211:8000 -m -w 1\n"),
    judgeNat({ ...ipvs, persistent: true }, "-A -t 198.51.100.50:80 -s rr\n"),
    judgeNat({ ...ipvs, present: false }, "-A -t 198.51.100.50:80 -s rr\n"),
    judgeNat(ipvs, [2, "Can't initialize ipvs: Protocol not available\n"]),
    judgeNat(vipOnLo, "1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 198.51.100.50/24 scope global eth0\n"),
    judgeNat(vipOnLo, "1: lo    inet 198.51.100.50/24 scope global lo\n"),
    judgeNat(vipOnLo, "1: lo    inet 127.0.0.1/8 scope host lo\n"),
    judgeNat({ ...vipOnLo, present: false }, "1: lo    inet 198.51.100.50/32 scope global lo\n"),
    judgeNat(arp, "198.51.100.50 dev eth0 lladdr 02:42:00:00:00:02 REACHABLE\n", ...links),
    judgeNat(arp, "198.51.100.50 dev eth0 lladdr 02:42:00:00:00:01 REACHABLE\n", ...links),
    judgeNat(arp, "", ...links),
    judgeNat({ kind: "command", node: "rs1", run: "false", message: "不行。" }, [1, ""]),
    ...httpVerdicts(),
    judgeNat({ kind: "command", node: "director", run: "conntrack -L", match: "UNREPLIED", message: "没有未应答的连接。" }, "nothing\n"),
  ];
}

afterEach(() => setLanguage("en"));

const dnat = {
  kind: "iptables", node: "director", table: "nat", chain: "PREROUTING",
  packet: { in: "{{director.ext.iface}}", source: "{{client.ext}}", destination: "{{director.ext}}", protocol: "tcp", dport: 8001 },
  action: { target: "DNAT", to: "{{rs1.int}}:8000" },
};
const toClient = { kind: "route", node: "rs1", to: "{{client.ext}}", via: "{{director.int}}" };
const arpIgnore = { kind: "sysctl", node: "rs1", key: "arp_ignore", iface: "{{rs1.int.iface}}", value: [1, 2] };
const keepalived = { kind: "process", node: "director", name: "keepalived" };

/** Every verdict the recordings give, in the current language. */
function verdicts(): string[] {
  const iptables = ["reference", "wrong-iface", "output-chain", "empty", "wrong-to-port", "unreached-chain", "shadowed-by-accept", "forward-drop", "ambiguous", "negated-port", "nft-output-hook", "legacy"];
  const routes = ["docker-gateway", "append-metric-500", "append-same-metric", "specific-route-wins", "no-default", "replace-default"];
  return [
    ...iptables.map((f) => judgeRecorded(dnat, `iptables/${f}.txt`).message),
    ...iptables.map((f) => judgeRecorded({ ...dnat, present: false }, `iptables/${f}.txt`).message),
    ...routes.map((f) => judgeRecorded(toClient, `route/${f}.txt`).message),
    ...routes.map((f) => judgeRecorded({ kind: "route", node: "rs1", to: "default", via: "{{director.int}}" }, `route/${f}.txt`).message),
    ...["all-only", "lo-only", "untouched"].map((f) => judgeRecorded(arpIgnore, `sysctl/${f}.txt`).message),
    ...lvsVerdicts(),
    ...["keepalived-running", "keepalived-stopped"].flatMap((f) => [judgeRecorded(keepalived, `process/${f}.txt`).message, judgeRecorded({ ...keepalived, present: false }, `process/${f}.txt`).message]),
  ];
}

describe("zh-CN verdicts", () => {
  it("render every recorded verdict in Chinese, nothing raw", () => {
    const english = verdicts();
    setLanguage("zh-CN");
    const chinese = verdicts();
    expect(chinese).toHaveLength(english.length);
    // Quoted text is the system's own (rules as written, ip's error): it stays as it is.
    const own = (m: string) => m.replace(/“[^”]*”|"[^"]*"|`[^`]*`/g, "");
    chinese.forEach((m, i) => {
      expect(own(m), english[i]).not.toMatch(/\{\{|probe\.|\b(the|not|has|is|rule|packets)\b/);
      expect(m, english[i]).toMatch(/[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/);
    });
  });

  it("name the same cause as in English", () => {
    setLanguage("zh-CN");
    expect(judgeRecorded(dnat, "iptables/wrong-iface.txt").message).toBe(
      "director 的规则“-A PREROUTING -i eth1 -p tcp --dport 8001 -j DNAT --to-destination 10.0.1.210:8000”匹配不到客户端的数据包：它们从 eth0 进入，不是 eth1。",
    );
    expect(judgeRecorded(toClient, "route/append-metric-500.txt").message).toBe(
      "rs1 发往 198.51.100.100 (client) 的数据包经由 10.0.1.1 (int 网络上的 Docker 网关)，而不是经由 10.0.1.50 (director)：" +
        "经由 10.0.1.50 (director) 的默认路由的 metric 是 500，内核优先用 metric 为 0 的那条（经由 10.0.1.1 (int 网络上的 Docker 网关)）。",
    );
    expect(judgeRecorded(arpIgnore, "sysctl/lo-only.txt").message).toBe(
      "rs1：eth0 的 arp_ignore 实际生效值为 0（取 all=0 与 eth0=0 中较大者）；它必须是 1 或 2。lo 上的值 1 不会用于从 eth0 收到的 ARP 请求。",
    );
    expect(judgeRecorded(keepalived, "process/keepalived-running.txt").message).toBe("director 上运行着 keepalived（pid 151）。");
  });

  it("plural rules and lists follow the language", () => {
    expect(t("ui.notice.allHints", { count: 1 })).toBe("All 1 hint is shown. s shows the solution.");
    expect(t("ui.notice.allHints", { count: 2 })).toBe("All 2 hints are shown. s shows the solution.");
    expect(alternatives(["0", "1", "2"])).toBe("0, 1 or 2");
    setLanguage("zh-CN");
    expect(t("ui.notice.allHints", { count: 2 })).toBe("2 条提示都已显示。按 s 显示答案。");
    expect(alternatives(["0", "1", "2"])).toBe("0、1 或 2");
  });

  it("falls back to English for a language without a catalogue", () => {
    expect(setLanguage("fr-FR")).toBe("en");
    expect(setLanguage("zh")).toBe("zh-CN");
  });
});

/** What checkStep adds at check time (`{{stepSeconds}}`: its default look-back), so that failover's monitor probes render. */
const CHECK_TIME = { stepSeconds: "60" };

/** Outputs on which a probe fails and says why with its explain: an empty reading, the address it must not have, or the process that must not run (pgrep finds it). */
function failingOutputs(p: Probe, ctx: ProbeContext) {
  const kind = probeKind(p.kind);
  if (p.kind === "process" && !p.present) return kind.collect(p, ctx).map(() => ({ exitCode: 0, output: "151\n" }));
  const output = p.kind === "address" && !p.present ? `2: ${p.iface}    inet ${p.address}/32 scope global ${p.iface}\n` : "";
  return kind.collect(p, ctx).map(() => ({ exitCode: 1, output }));
}

/** Each probe of a lab's lesson in `lang` with the words a learner reads: its texts, its description and its failing verdict. */
async function checkBlockWords(id: string, lang: string) {
  setLanguage(lang);
  const { lesson, topology } = await loadLab(id, { lang });
  const resolved = resolveTopology(topology, {});
  const ifaces = Object.fromEntries(Object.entries(resolved.nodes).map(([n, node]) => [n, Object.fromEntries(Object.keys(node.addresses).map((net, i) => [net, `eth${i}`]))]));
  const ctx: ProbeContext = { topology: resolved, ifaces, vars: { ...templateVariables(resolved, ifaces, id), ...CHECK_TIME } };
  return lesson.steps.flatMap((s) =>
    s.checks.map((c, i) => {
      const p = renderProbe(c, ctx.vars);
      const texts = Object.fromEntries(CHECK_TEXT_FIELDS.flatMap((f) => (typeof (p as Record<string, unknown>)[f] === "string" ? [[f, (p as Record<string, string>)[f]]] : [])));
      const kind = probeKind(p.kind);
      return { where: `${id} ${s.id} probe ${i + 1}`, texts, description: kind.describe(p, ctx), verdict: kind.judge(p, failingOutputs(p, ctx), ctx) };
    }),
  );
}

describe("zh-CN check blocks of the translated labs", () => {
  const UNRENDERED = /\{\{[^}]*\}\}|\b(probe|ui|cli|errors)\.[a-z]+\.[a-zA-Z.]+/;
  const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;

  it.each(["dnat", "nat", "schedulers", "dr", "tun", "failover"])("%s: every title, explain and message is in Chinese and rendered in the verdicts", async (id) => {
    const english = await checkBlockWords(id, "en");
    const chinese = await checkBlockWords(id, "zh-CN");
    expect(chinese.map((c) => c.where)).toEqual(english.map((c) => c.where));
    chinese.forEach((c, i) => {
      const en = english[i]!;
      expect(Object.keys(c.texts), c.where).toEqual(Object.keys(en.texts));
      for (const [field, text] of Object.entries(c.texts)) {
        expect(text, `${c.where} ${field}`).not.toBe(en.texts[field as keyof typeof en.texts]);
        expect(text, `${c.where} ${field}`).toMatch(CJK);
      }
      if (c.texts.title) expect(c.description, c.where).toBe(c.texts.title);
      expect(c.verdict.ok, c.where).toBe(false);
      if (c.texts.message) expect(c.verdict.message, c.where).toContain(c.texts.message);
      if (c.texts.explain) expect(c.verdict.message, c.where).toContain(c.texts.explain);
      for (const words of [c.description, c.verdict.message]) expect(words, c.where).not.toMatch(UNRENDERED);
    });
  });
});

describe("a translated lesson judged in English, for the words a mistake names", () => {
  it.each(["nat", "dr", "tun", "failover"])("%s: each zh-CN probe with its original texts gives the English verdict word for word", async (id) => {
    const english = await checkBlockWords(id, "en");
    const { lesson } = await loadLab(id, { lang: "zh-CN" });
    setLanguage("en");
    const originals = lesson.steps.flatMap((s) => s.checks.map((c) => ({ ...c, ...c.originalTexts }) as Probe));
    const { topology } = await loadLab(id, { lang: "en" });
    const resolved = resolveTopology(topology, {});
    const ifaces = Object.fromEntries(Object.entries(resolved.nodes).map(([n, node]) => [n, Object.fromEntries(Object.keys(node.addresses).map((net, i) => [net, `eth${i}`]))]));
    const ctx: ProbeContext = { topology: resolved, ifaces, vars: { ...templateVariables(resolved, ifaces, id), ...CHECK_TIME } };
    const verdicts = originals.map((c) => {
      const p = renderProbe(c, ctx.vars);
      return probeKind(p.kind).judge(p, failingOutputs(p, ctx), ctx).message;
    });
    expect(verdicts).toEqual(english.map((e) => e.verdict.message));
    expect(originals.filter((c) => c.originalTexts).length).toBeGreaterThan(0);
  });
});

describe("sentences", () => {
  it("puts a space after an English sentence and none after a Chinese one", () => {
    expect(sentences("Lab dr runs in the VM.", "The VM is running.")).toBe("Lab dr runs in the VM. The VM is running.");
    expect(sentences("它将在虚拟机里运行。", "虚拟机已经在运行。")).toBe("它将在虚拟机里运行。虚拟机已经在运行。");
  });
});

describe("inLanguage", () => {
  it("swaps the language for a synchronous call only, and refuses a promise", () => {
    setLanguage("zh-CN");
    expect(inLanguage("en", () => t("errors.noneRunning"))).toBe("No lab is running.");
    expect(language()).toBe("zh-CN");
    // @ts-expect-error an async function would leave the swapped language to whatever runs meanwhile
    expect(() => inLanguage("en", async () => t("errors.noneRunning"))).toThrow("inLanguage runs synchronous functions only");
    expect(language()).toBe("zh-CN");
  });
});

describe("every key the code asks for", () => {
  it("is in the English catalogue (a key that is not shows up raw on the screen)", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { en } = await import("../src/i18n/en.js");
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : /\.tsx?$/.test(d.name) ? [join(dir, d.name)] : []));
    const lookup = (key: string): unknown => key.split(".").reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), en);
    // A key with a count is found as key_one/key_other.
    const known = (key: string) => typeof lookup(key) === "string" || typeof lookup(`${key}_other`) === "string";
    const used = files("src").flatMap((f) => [...readFileSync(f, "utf8").matchAll(/\b(?:t|say)\("([a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9_]+)+)"/g)].map((m) => `${f}: ${m[1]}`));
    expect(used.length).toBeGreaterThan(500);
    expect(used.filter((u) => !known(u.split(": ")[1]!))).toEqual([]);
  });
});
