/**
 * The hops of a failed request in Chinese, on the same recorded captures as trace.test.ts:
 * the same path, each sentence in Chinese, addresses, interfaces and node names untouched,
 * and the English sentences unchanged after a Chinese run.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatProbe } from "../src/cli/output.js";
import { setLanguage, t } from "../src/i18n/index.js";
import type { ProbeResult } from "../src/probes/runner.js";
import { judgeProbeRecording } from "./helpers/recorded-probe.js";

const hops = (fixture: string, override: object = {}) => (judgeProbeRecording(`trace/${fixture}.txt`, override).path ?? []).map((h) => `${h.node}: ${h.what}`);

beforeEach(() => setLanguage("zh-CN"));
afterEach(() => setLanguage("en"));

describe("trace in zh-CN: where the packets of a request went, on real captures", () => {
  it("dnat, rs1's gateway is Docker's: the SYN-ACK leaves the lab by Docker's gateway on int, the director never undoes the DNAT", () => {
    expect(hops("dnat-gateway-docker")).toEqual([
      "client: 发往 198.18.0.50:8001 的 SYN 从 eth0 发出，交给 director",
      "director: SYN 从 eth0 到达，目的地址改写为 10.0.2.210:8000，从 eth1 发出，交给 rs1",
      "rs1: SYN 从 eth0 到达；从 10.0.2.210:8000 发往 198.18.0.100 (client) 的 SYN-ACK 从 eth0 发出，经由 10.0.2.1 (int 网络上的 Docker 网关)，没有任何实验节点收到它",
      "director: SYN-ACK 没有经过这里返回，所以它的源地址没有改回 198.18.0.50:8001",
      "client: 什么也没有收到：SYN 发了 2 次，都没有应答",
    ]);
  });

  it("dnat, the reply passes the director untracked: forwarded unchanged, its source not rewritten back", () => {
    expect(hops("dnat-reply-not-untranslated")).toEqual([
      "client: 发往 198.18.0.50:8001 的 SYN 从 eth0 发出，交给 director",
      "director: SYN 从 eth0 到达，目的地址改写为 10.0.2.210:8000，从 eth1 发出，交给 rs1",
      "rs1: SYN 从 eth0 到达；从 10.0.2.210:8000 发往 198.18.0.100 (client) 的 SYN-ACK 从 eth0 发出，交给 director",
      "director: SYN-ACK 从 eth1 到达，原样转发（它的源地址没有改回 198.18.0.50:8001），从 eth0 发出，交给 client",
      "client: 收到的 SYN-ACK 来自 10.0.2.210:8000，而不是 198.18.0.50:8001，所以客户端回了 RST",
    ]);
  });

  it("dnat without the rule: the director itself answers with RST", () => {
    expect(hops("dnat-no-rule")).toEqual([
      "client: 发往 198.18.0.50:8001 的 SYN 从 eth0 发出，交给 director",
      "director: SYN 从 eth0 到达；198.18.0.50:8001 上没有程序在监听，于是一个发往 198.18.0.100 (client) 的 RST 从 eth0 发出，交给 client",
      "client: 收到来自 198.18.0.50:8001 的 RST：连接被拒绝",
    ]);
  });

  it("dnat with ip_forward 0: the SYN stops at the director", () => {
    expect(hops("dnat-forward-off")).toEqual([
      "client: 发往 198.18.0.50:8001 的 SYN 从 eth0 发出，交给 director",
      "director: SYN 从 eth0 到达，之后没有再往前走：包在这里被丢弃（既没有应答，也没有转发）",
      "client: 什么也没有收到：SYN 发了 2 次，都没有应答",
    ]);
  });

  it("dnat working: the whole round trip, both rewrites", () => {
    expect(hops("dnat-passing", { observe: true })).toEqual([
      "client: 发往 198.18.0.50:8001 的 SYN 从 eth0 发出，交给 director",
      "director: SYN 从 eth0 到达，目的地址改写为 10.0.2.210:8000，从 eth1 发出，交给 rs1",
      "rs1: SYN 从 eth0 到达；从 10.0.2.210:8000 发往 198.18.0.100 (client) 的 SYN-ACK 从 eth0 发出，交给 director",
      "director: SYN-ACK 从 eth1 到达，源地址改写为 198.18.0.50:8001，从 eth0 发出，交给 client",
      "client: 收到来自 198.18.0.50:8001 的 SYN-ACK：连接建立，请求得到应答",
    ]);
  });

  it("dr before the real servers hold the VIP: rs2's MAC, and rs2 drops the SYN", () => {
    expect(hops("dr-vip-not-on-rs")).toEqual([
      "client: 发往 198.51.100.77:80 的 SYN 从 eth0 发出，交给 director 的 MAC 02:42:c6:33:64:32（client 的 ARP 表中 198.51.100.77 对应的就是它）",
      "director: SYN 从 eth0 到达，原样转发，从 eth0 发出，交给 rs2 的 MAC 02:42:c6:33:64:15",
      "rs2: SYN 从 eth0 到达，但 198.51.100.77 不是 rs2 的地址：包在这里被丢弃（既没有应答，也没有转发）",
      "client: 什么也没有收到：SYN 发了 2 次，都没有应答",
    ]);
  });

  it("dr with the ARP sysctls at 0: the client's ARP entry holds rs2's MAC", () => {
    expect(hops("dr-arp-answered-by-rs")).toEqual([
      "client: 发往 198.51.100.77:80 的 SYN 从 eth0 发出，交给 rs2 的 MAC 02:42:c6:33:64:15（client 的 ARP 表中 198.51.100.77 对应的就是它）",
      "rs2: SYN 从 eth0 到达；从 198.51.100.77:80 发往 198.51.100.100 (client) 的 SYN-ACK 从 eth0 发出，交给 client",
      "client: 收到来自 198.51.100.77:80 的 SYN-ACK：连接建立，请求得到应答",
    ]);
  });

  it("dr working: the director changes only the MAC", () => {
    expect(hops("dr-passing", { observe: true })).toEqual([
      "client: 发往 198.18.0.77:80 的 SYN 从 eth0 发出，交给 director 的 MAC 02:42:c6:12:00:32（client 的 ARP 表中 198.18.0.77 对应的就是它）",
      "director: SYN 从 eth0 到达，原样转发，从 eth0 发出，交给 rs2 的 MAC 02:42:c6:12:00:15",
      "rs2: SYN 从 eth0 到达；从 198.18.0.77:80 发往 198.18.0.100 (client) 的 SYN-ACK 从 eth0 发出，交给 client",
      "client: 收到来自 198.18.0.77:80 的 SYN-ACK：连接建立，请求得到应答",
    ]);
  });

  it("nat without the real servers' gateway: the SYN-ACK leaves by Docker's gateway", () => {
    expect(hops("nat-no-gateway")).toEqual([
      "client: 发往 198.18.0.50:80 的 SYN 从 eth0 发出，交给 director",
      "director: SYN 从 eth0 到达，目的地址改写为 10.0.1.211:8000，从 eth1 发出，交给 rs2",
      "rs2: SYN 从 eth0 到达；从 10.0.1.211:8000 发往 198.18.0.100 (client) 的 SYN-ACK 从 eth0 发出，经由 10.0.1.1 (int 网络上的 Docker 网关)，没有任何实验节点收到它",
      "director: SYN-ACK 没有经过这里返回，所以它的源地址没有改回 198.18.0.50:80",
      "client: 什么也没有收到：SYN 发了 2 次，都没有应答",
    ]);
  });

  it("nat working: IPVS rewrites the request and the reply", () => {
    expect(hops("nat-passing", { observe: true })).toEqual([
      "client: 发往 198.18.0.50:80 的 SYN 从 eth0 发出，交给 director",
      "director: SYN 从 eth0 到达，目的地址改写为 10.0.1.211:8000，从 eth1 发出，交给 rs2",
      "rs2: SYN 从 eth0 到达；从 10.0.1.211:8000 发往 198.18.0.100 (client) 的 SYN-ACK 从 eth0 发出，交给 director",
      "director: SYN-ACK 从 eth1 到达，源地址改写为 198.18.0.50:80，从 eth0 发出，交给 client",
      "client: 收到来自 198.18.0.50:80 的 SYN-ACK：连接建立，请求得到应答",
    ]);
  });

  it("tun, tunl0 down: ICMP from rs2, relayed by IPVS to the client", () => {
    expect(hops("tun-tunl0-down")).toEqual([
      "client: 发往 198.51.100.77:80 的 SYN 从 eth0 发出，交给 director 的 MAC 02:42:c6:33:64:32（client 的 ARP 表中 198.51.100.77 对应的就是它）",
      "director: SYN 从 eth0 到达，封装成发往 10.0.2.21 (rs2) 的 IPIP 包，从 eth0 发出，交给 router",
      "router: 来自 198.51.100.50 (director) 的 IPIP 包从 eth1 到达，原样转发，从 eth0 发出，交给 rs2",
      "rs2: 来自 198.51.100.50 (director) 的 IPIP 包从 eth0 到达，没有被解封装；ICMP“10.0.2.21 protocol 4 port 60 unreachable”被发回 198.51.100.50 (director)",
      "director: ICMP“10.0.2.21 protocol 4 port 60 unreachable”从 eth0 到达；它接着把 ICMP“198.51.100.77 tcp port 80 unreachable”发给 198.51.100.100 (client)",
      "client: 收到来自 198.51.100.77 (VIP) 的 ICMP“198.51.100.77 tcp port 80 unreachable”",
    ]);
  });

  it("tun, rp_filter 1: unwrapped on tunl0, then dropped", () => {
    expect(hops("tun-rp-filter")).toEqual([
      "client: 发往 198.51.100.77:80 的 SYN 从 eth0 发出，交给 director 的 MAC 02:42:c6:33:64:32（client 的 ARP 表中 198.51.100.77 对应的就是它）",
      "director: SYN 从 eth0 到达，封装成发往 10.0.2.21 (rs2) 的 IPIP 包，从 eth0 发出，交给 router",
      "router: 来自 198.51.100.50 (director) 的 IPIP 包从 eth1 到达，原样转发，从 eth0 发出，交给 rs2",
      "rs2: 来自 198.51.100.50 (director) 的 IPIP 包从 eth0 到达，在 tunl0 上解封装，之后没有再往前走：包在这里被丢弃（既没有应答，也没有转发）",
      "client: 什么也没有收到：SYN 发了 2 次，都没有应答",
    ]);
  });

  it("tun working: IP-in-IP there, the reply through the router", () => {
    expect(hops("tun-passing", { observe: true })).toEqual([
      "client: 发往 198.51.100.77:80 的 SYN 从 eth0 发出，交给 director 的 MAC 02:42:c6:33:64:32（client 的 ARP 表中 198.51.100.77 对应的就是它）",
      "director: SYN 从 eth0 到达，封装成发往 10.0.2.21 (rs2) 的 IPIP 包，从 eth0 发出，交给 router",
      "router: 来自 198.51.100.50 (director) 的 IPIP 包从 eth1 到达，原样转发，从 eth0 发出，交给 rs2",
      "rs2: 来自 198.51.100.50 (director) 的 IPIP 包从 eth0 到达，在 tunl0 上解封装；从 198.51.100.77:80 发往 198.51.100.100 (client) 的 SYN-ACK 从 eth0 发出，交给 router",
      "router: SYN-ACK 从 eth0 到达，原样转发，从 eth1 发出，交给 client",
      "client: 收到来自 198.51.100.77:80 的 SYN-ACK：连接建立，请求得到应答",
    ]);
  });

  it("a SYN sent once says so in either language", () => {
    expect(t("trace.nothingBack", { count: 1 })).toBe("什么也没有收到：SYN 发了 1 次，都没有应答");
    expect(t("trace.nothingBack", { count: 1 }, "en")).toBe("nothing came back: the SYN was sent once, unanswered");
  });

  it("leaves the English sentences as they were", () => {
    setLanguage("en");
    expect(hops("dnat-gateway-docker")[2]).toBe(
      "rs1: SYN arrived on eth0; SYN-ACK from 10.0.2.210:8000 to 198.18.0.100 (client) left on eth0 via 10.0.2.1 (Docker's gateway on int), and no lab node received it",
    );
  });
});

describe("the path in check's output, in Chinese", () => {
  it("heads the hops with where the packets went, node names aligned", () => {
    const failed: ProbeResult = {
      kind: "http", node: "client", description: "从 client 向 198.18.0.50:8001 发 2 个请求，都得到应答", ok: false, message: "…",
      path: [{ node: "client", what: "发往 198.18.0.50:8001 的 SYN 从 eth0 发出，交给 director" }, { node: "director", what: "SYN 从 eth0 到达，之后没有再往前走：包在这里被丢弃（既没有应答，也没有转发）" }],
    };
    expect(formatProbe(failed).split("\n").slice(2)).toEqual([
      "      数据包的去向：",
      "        client    发往 198.18.0.50:8001 的 SYN 从 eth0 发出，交给 director",
      "        director  SYN 从 eth0 到达，之后没有再往前走：包在这里被丢弃（既没有应答，也没有转发）",
    ]);
  });
});
