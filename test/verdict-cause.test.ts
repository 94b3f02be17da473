/**
 * A failed traffic probe's verdict names the cause its packets show (trace.ts), judged on
 * captures recorded on the real kernel: the learner who follows the reference text's DR
 * order, real servers answering ARP for the VIP, NAT and DNAT replies past the director,
 * strict rp_filter behind a tunnel, a real server without the VIP, the VIP on both
 * failover directors (the backup with another virtual_router_id) — in English and Chinese.
 */
import { afterEach, describe, expect, it } from "vitest";
import { setLanguage } from "../src/i18n/index.js";
import { judgeProbeRecording } from "./helpers/recorded-probe.js";

const message = (fixture: string, override: object = {}) => judgeProbeRecording(`trace/${fixture}.txt`, override).message;
/** DR's step 2: IPVS on the director must pass the requests on, whoever answers them. */
const throughDirector = { expect: { answers: 0, through: "director" } };
const everyAnswer = { expect: { answers: "all" } };

afterEach(() => setLanguage("en"));

describe("the verdict of a failed request says where its packets went wrong", () => {
  it("dr in the reference text's order (VIP on lo before the ARP sysctls): rs2 answered the client's ARP, step 2 names it", () => {
    expect(message("dr-arp-answered-by-rs", throughDirector)).toBe(
      "The client sent the VIP's packets straight to rs2: rs2 answered its ARP request for 198.51.100.77, so director never saw them (arp_ignore/arp_announce on the real servers keep them quiet). Not every request from client to 198.51.100.77:80 passed through director on its way to a real server.",
    );
  });

  it("dr before the real servers hold the VIP: the director passes the requests on, so step 2's check passes", () => {
    const verdict = judgeProbeRecording("trace/dr-vip-not-on-rs.txt", throughDirector);
    expect(verdict).toMatchObject({ ok: true, message: "0/2 answered ()." });
  });

  it("dr, a real server without the VIP drops what the director hands it", () => {
    expect(message("dr-vip-not-on-rs", everyAnswer)).toBe(
      "rs2 got the SYN for 198.51.100.77 and dropped it: 198.51.100.77 is not one of rs2's addresses. Only 0 of 2 requests from client to 198.51.100.77:80 were answered; the rest: timed out.",
    );
  });

  it("nat without the real servers' gateway: rs2 answers past the director", () => {
    expect(message("nat-no-gateway")).toBe(
      "rs2 sent its SYN-ACK to 198.18.0.100 (client) via 10.0.1.1 (Docker's gateway on int), past director, which alone can rewrite it back to 198.18.0.50:80: rs2's route to the client must go through director. Only 0 of 4 requests from client to 198.18.0.50:80 were answered; the rest: timed out.",
    );
  });

  it("dnat with Docker's gateway on rs1: the same cause", () => {
    expect(message("dnat-gateway-docker")).toBe(
      "rs1 sent its SYN-ACK to 198.18.0.100 (client) via 10.0.2.1 (Docker's gateway on int), past director, which alone can rewrite it back to 198.18.0.50:8001: rs1's route to the client must go through director. Only 0 of 4 requests from client to 198.18.0.50:8001 were answered; the rest: timed out.",
    );
  });

  it("tun with strict rp_filter on rs2: unwrapped on tunl0, dropped, and why", () => {
    expect(message("tun-rp-filter", everyAnswer)).toBe(
      "rs2 unwrapped the SYN on tunl0 and dropped it: its route back to 198.51.100.100 (client) leaves by eth0, not tunl0, so strict reverse-path filtering (rp_filter 1) refuses the packet (nstat counts it as IPReversePathFilter). Only 0 of 2 requests from client to 198.51.100.77:80 were answered; the rest: timed out.",
    );
  });

  it("a request that is not the probe's, seen leaving the client as the captures stop, is not one that missed the director; lvs-lab-monitor's are known by their source ports", () => {
    const passing = { expect: { answers: "all", through: "director" } };
    expect(judgeProbeRecording("trace/dr-passing.txt", passing).ok).toBe(true);
    /** A SYN to the VIP from `port` that only the client's capture caught: it left as the capture on the director had stopped. */
    const lateSyn = (port: number) => (outputs: Map<string, { output: string }>) => {
      const [, client] = [...outputs].find(([key]) => key.startsWith("client $") && key.includes("--- packets"))!;
      const last = Math.max(...[...client.output.matchAll(/^(\d+\.\d+) /gm)].map((m) => Number(m[1])));
      const syn = `${(last + 0.001).toFixed(6)} eth0  Out ifindex 33 02:42:c6:12:00:64 ethertype IPv4 (0x0800), length 80: 198.18.0.100.${port} > 198.18.0.77.80: Flags [S], seq 12345, win 64240, length 0`;
      client.output = client.output.replace("--- neighbours", `${syn}\n--- neighbours`);
    };
    expect(judgeProbeRecording("trace/dr-passing.txt", passing, lateSyn(61005))).toMatchObject({ ok: true });
    expect(judgeProbeRecording("trace/dr-passing.txt", passing, lateSyn(45005)).message).toMatch(/Not every request from client to 198\.18\.0\.77:80 passed through director on its way to a real server\.$/);
  });

  it("failover with the VIP on both directors: the client's ARP entry went to the backup", () => {
    expect(message("failover-vip-on-both-directors")).toBe(
      "The client sent the VIP's packets to backup, not to director: director and backup both hold 198.18.0.77, and the client's ARP entry for it is backup's MAC. Not every request from client to 198.18.0.77:80 passed through director on its way to a real server.",
    );
  });

  it("a cause the packets do not show is not guessed: dnat with forwarding off keeps the counts alone", () => {
    expect(message("dnat-forward-off")).toBe("Only 0 of 4 requests from client to 198.18.0.50:8001 were answered; the rest: timed out.");
  });
});

describe("the same causes in Chinese", () => {
  it("dr in the reference text's order names the ARP answer", () => {
    setLanguage("zh-CN");
    expect(message("dr-arp-answered-by-rs", throughDirector)).toBe(
      "客户端把发往 VIP 的数据包直接发给了 rs2：rs2 响应了客户端对 198.51.100.77 的 ARP 请求，director 根本没见到这些包（真实服务器上的 arp_ignore/arp_announce 让它们不再响应）。client 发往 198.51.100.77:80 的请求并非都经过 director 再转给真实服务器。",
    );
  });

  it("failover's VIP on both directors", () => {
    setLanguage("zh-CN");
    expect(message("failover-vip-on-both-directors")).toBe(
      "客户端把发往 VIP 的数据包发给了 backup，而不是 director：director 和 backup 都持有 198.18.0.77，客户端 ARP 表中它对应的是 backup 的 MAC。client 发往 198.18.0.77:80 的请求并非都经过 director 再转给真实服务器。",
    );
  });

  it("nat's reply past the director and tun's rp_filter", () => {
    setLanguage("zh-CN");
    expect(message("nat-no-gateway")).toBe(
      "rs2 把它的 SYN-ACK 经由 10.0.1.1 (int 网络上的 Docker 网关) 发往 198.18.0.100 (client)，绕过了 director，而只有 director 能把它改回 198.18.0.50:80：rs2 去往客户端的路由必须经过 director。client 发往 198.18.0.50:80 的 4 个请求只有 0 个得到应答；其余的：超时。",
    );
    expect(message("tun-rp-filter", everyAnswer)).toBe(
      "rs2 在 tunl0 上解封装了 SYN，随即把它丢弃：它回到 198.51.100.100 (client) 的路由走 eth0 而不是 tunl0，严格的反向路径过滤（rp_filter 1）因此拒收这个包（nstat 把它计入 IPReversePathFilter）。client 发往 198.51.100.77:80 的 2 个请求只有 0 个得到应答；其余的：超时。",
    );
  });
});
