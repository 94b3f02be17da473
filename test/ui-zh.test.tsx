/**
 * The lesson screen in Chinese: wide characters measured in terminal columns (two each),
 * lines wrapped between characters, boxes aligned, nothing cut in the middle of a character.
 */
import { render } from "ink-testing-library";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setLanguage } from "../src/i18n/index.js";
import type { ProbeResult } from "../src/probes/runner.js";
import { freshProgress } from "../src/state/progress.js";
import type { ResolvedTopology } from "../src/topology/resolve.js";
import { App } from "../src/ui/app.js";
import { plainText, wrapSegs } from "../src/text/lines.js";
import { markdownLines } from "../src/ui/markdown.js";
import { truncate } from "../src/ui/panes.js";
import type { LabView, UiActions } from "../src/ui/types.js";
import { displayWidth } from "../src/text/width.js";

beforeEach(() => setLanguage("zh-CN"));
afterEach(() => setLanguage("en"));

const prose =
  "Linux 主机默认会丢弃不是发给自己的数据包，除非打开了转发。调度器要把数据包从一个接口送到另一个接口，所以要打开 IPv4 转发。这个开关在 `/proc/sys/net/ipv4/ip_forward`（内核参数 `net.ipv4.ip_forward`）：`0` 表示“主机”，`1` 表示“路由器”。";

describe("wide characters", () => {
  it("wrap between characters within the width, keeping every character and no line opening with a comma", () => {
    for (const width of [13, 20, 37, 48]) {
      const lines = markdownLines(prose, width);
      for (const l of lines) {
        const text = l.segs.map((s) => s.text).join("");
        expect(displayWidth(text), text).toBeLessThanOrEqual(width);
        // Where no word is longer than a line, closing punctuation stays with what it closes.
        if (width > 21) expect(text).not.toMatch(/^[，。：）]/);
      }
      expect(plainText(lines).replace(/\s/g, "")).toBe(prose.replace(/\s/g, ""));
    }
  });

  it("fill a line to its width: a 10-column line holds five characters", () => {
    const lines = wrapSegs([{ text: "一二三四五六七八九十" }], 10);
    expect(lines.map((l) => l.segs.map((s) => s.text).join(""))).toEqual(["一二三四五", "六七八九十"]);
  });

  it("truncate by columns and never cut a character in two", () => {
    expect(truncate("调度器的连接跟踪表", 9)).toBe("调度器的…");
    expect(displayWidth(truncate("调度器的连接跟踪表", 10))).toBeLessThanOrEqual(10);
    expect(truncate("rs1 的回包", 9)).toBe("rs1 的回…");
  });
});

const topology: ResolvedTopology = {
  id: "dnat",
  title: "端口转发",
  networks: {
    ext: { name: "ext", subnet: "198.51.100.0/24", prefix: 24, gateway: "198.51.100.1" },
    int: { name: "int", subnet: "10.0.1.0/24", prefix: 24, gateway: "10.0.1.1" },
  },
  nodes: {
    client: { name: "client", role: "client", addresses: { ext: "198.51.100.100" }, serve: [], sysctls: {}, setup: [] },
    director: { name: "director", role: "director", addresses: { ext: "198.51.100.50", int: "10.0.1.50" }, serve: [], sysctls: {}, setup: [] },
    rs1: { name: "rs1", role: "realserver", addresses: { int: "10.0.1.210" }, serve: [8000], sysctls: {}, setup: [] },
  },
  vips: {},
};

const view: LabView = {
  labId: "dnat",
  title: "用 iptables DNAT 做端口转发",
  instance: "dnat",
  engineHost: "unix:///var/run/docker.sock",
  kernel: "6.1.0-test",
  intro: "",
  steps: [
    { id: "forward", title: "让调度器转发数据包", prose, hints: ["用 `cat /proc/sys/net/ipv4/ip_forward` 查看。", "写入 1。"], solutions: [{ node: "director", commands: "echo 1 > /proc/sys/net/ipv4/ip_forward" }] },
    { id: "dnat-rule", title: "用 DNAT 改写目的地址", prose: "加一条 DNAT 规则。", hints: [], solutions: [{ node: "director", commands: "iptables -t nat -A PREROUTING -j DNAT" }] },
    { id: "gateway", title: "让 rs1 的回包经过调度器", prose: "修好网关。", hints: [], solutions: [{ node: "rs1", commands: "ip route replace default via 10.0.1.50" }] },
  ],
  topology,
  ifaces: {},
  nodes: ["client", "director", "rs1"],
};

const failing: ProbeResult[] = [
  {
    ok: false,
    kind: "sysctl",
    node: "director",
    description: "director 上 net.ipv4.ip_forward = 1",
    message: "director：net.ipv4.ip_forward 为 0，它必须是 1。不打开转发，调度器会丢弃每一个发往别的主机的数据包。",
    hint: 1,
  },
];

function mount() {
  const actions: UiActions = { check: vi.fn(async () => failing), solve: vi.fn(async () => "已在 director 上执行答案。"), reset: vi.fn(async () => view), saveProgress: () => undefined };
  const snap = { view, progress: freshProgress("dnat"), scroll: 0, solutionShown: [], outcome: {}, last: { step: 0, results: failing, at: Date.UTC(2024, 0, 1, 10, 0, 0), ms: 420 } };
  return render(<App initial={snap} actions={actions} width={80} height={24} onExit={() => undefined} autoCheck={false} checkEveryMs={40} advanceAfterMs={40} />);
}

describe("the lesson screen in Chinese at 80x24", () => {
  it("draws every pane in Chinese with its borders in the same columns", async () => {
    const ui = mount();
    await new Promise((r) => setTimeout(r, 50));
    const rows = (ui.lastFrame() ?? "").split("\n");
    expect(rows).toHaveLength(24);
    for (const r of rows) expect(displayWidth(r), r).toBeLessThanOrEqual(80);
    // Each body row ends with the right pane's border in column 80, whatever the wide characters before it.
    for (const r of rows.slice(2, 22)) {
      expect(displayWidth(r), r).toBe(80);
      expect(r, r).toMatch(/[│┐┘]$/);
    }
    const f = rows.join("\n");
    expect(rows[0]).toMatch(/^lvs-lab · 用 iptables DNAT 做端口转发 +第 1\/3 步$/);
    expect(f).toContain("┌─ 步骤 ");
    expect(f).toContain("┌─ 拓扑 ");
    expect(f).toContain("┌─ 课程 · 第 1 步 ");
    expect(f).toContain("┌─ 检查 0/1 通过 ");
    expect(f).toContain("（提示 1：按 h）");
    expect(rows[23]).toContain("n/p 步骤");
    expect(rows[23]).toContain("q 退出");
    ui.stdin.write("q");
    await new Promise((r) => setTimeout(r, 50));
    expect(ui.lastFrame()).toContain("退出：s 停止容器  k 保留以后再用  c 取消");
    ui.unmount();
  });
});

describe("line breaks in Chinese source text", () => {
  it("join two lines of Chinese without a space, and keep the space next to Latin words", () => {
    const lines = markdownLines("回包会交给 rs1 的\n默认网关。看一看：在\nrs1 上执行 `ip route`。", 80);
    expect(plainText(lines)).toBe("回包会交给 rs1 的默认网关。看一看：在 rs1 上执行 `ip route`。");
  });
});
