/**
 * The terminal UI in Chinese end to end: LANG=zh_CN.UTF-8, the real binary in an 80x24
 * tmux pane completes the zh-CN dnat lab with keys and typed commands only, then quits
 * keeping the lab. Every captured screen is checked for wide characters measured right:
 * no row wider than 80 columns, the boxes' right borders in column 80.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { displayWidth } from "../src/text/width.js";
import { BIN, cli } from "./helpers/cli.js";
import { tmuxPane } from "./helpers/tmux.js";

const NAME = "e2e-ui-zh";
const SESSION = `lvs-lab-e2e-zh-${process.pid}`;
const { tmux, screen, keys, waitFor, inShell } = tmuxPane(SESSION, { shellPicker: "打开终端：", checked: /检查 \d+\/\d+ 通过|检查中…/ }, true);

/** The lesson screen's frame holds in 80 columns, with wide characters counted twice. */
function expectAligned(s: string): void {
  const rows = s.split("\n");
  for (const r of rows) expect(displayWidth(r), r).toBeLessThanOrEqual(80);
  const boxed = rows.filter((r) => /^[│┌└]/.test(r));
  expect(boxed.length).toBeGreaterThan(10);
  for (const r of boxed) {
    expect(displayWidth(r), r).toBe(80);
    expect(r, r).toMatch(/[│┐┘]$/);
  }
}

async function addresses(node: string): Promise<Array<{ iface: string; address: string }>> {
  const r = await cli(["exec", node, "--name", NAME, "--", "ip", "-o", "-4", "addr"]);
  return [...r.stdout.matchAll(/^\d+: (\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\//gm)].map((m) => ({ iface: m[1]!, address: m[2]! })).filter((a) => a.iface !== "lo");
}

const net24 = (a: string) => a.split(".").slice(0, 3).join(".");

describe("the terminal UI in Chinese in tmux", () => {
  afterAll(async () => {
    try {
      tmux("kill-session", "-t", SESSION);
    } catch {
      // already gone
    }
    await cli(["stop", "--name", NAME]);
  });

  it("completes the zh-CN dnat lab at 80x24 with keys and shells only", async () => {
    await cli(["stop", "--name", NAME]);
    // The locale alone chooses Chinese (no --lang); CI makes ink print only the last frame; NO_COLOR keeps the capture plain.
    const command = `env -u CI -u LC_ALL -u LVS_LAB_LANG LANG=zh_CN.UTF-8 NO_COLOR=1 node ${BIN} start dnat --name ${NAME} --restart; echo "lvs-lab exited $?"; sleep 600`;
    tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command);

    let s = await waitFor("检查 0/1 通过", 60_000);
    expect(s).toContain("lvs-lab · 用 iptables DNAT 做端口转发");
    expect(s).toMatch(/第 1\/3 步/);
    expect(s).toContain("▶✘ 1 让调度器");
    expect(s).toContain("director：net.ipv4.ip_forward 为 0，它必须是 1。");
    expectAligned(s);
    const captures = [s];

    const client = (await addresses("client"))[0]!;
    const director = await addresses("director");
    const ext = director.find((a) => net24(a.address) === net24(client.address))!;
    const int = director.find((a) => a !== ext)!;
    const rs1 = (await addresses("rs1"))[0]!;

    keys("h");
    s = await waitFor("提示 1/3");
    expectAligned(s);

    await inShell("2", "director", ["echo 1 > /proc/sys/net/ipv4/ip_forward"]);
    s = await waitFor("第 2/3 步");
    expect(s).toContain(" ✔ 1 让调度器");
    expect(s).toContain("预测");
    expectAligned(s);
    captures.push(s);

    keys("2");
    await waitFor("已记下预测：2");
    await inShell("2", "director", [`iptables -t nat -A PREROUTING -i ${ext.iface} -p tcp --dport 8001 -j DNAT --to-destination ${rs1.address}:8000`]);
    // A step with a prediction stays on its answer until n.
    s = await waitFor("第 2 步通过。按 n 进入下一步");
    expectAligned(s);
    keys("n");
    s = await waitFor("第 3/3 步");
    expect(s).toContain(" ✔ 2 用 DNAT 改写");
    expectAligned(s);
    captures.push(s);

    await inShell("3", "rs1", [`ip route replace default via ${int.address}`]);
    s = await waitFor("实验全部完成");
    expect(s).toContain("▶✔ 3 让 rs1 的回包");
    expect(s).toMatch(/检查 4\/4 通过/);
    expect(s).toContain("回包：经过调度器");
    // A line break between two Chinese characters in the lesson's source adds no space.
    expect(s).not.toMatch(/[\u4e00-\u9fff，。] [\u4e00-\u9fff]/);
    expectAligned(s);
    captures.push(s);

    keys("q");
    s = await waitFor("保留以后再用");
    expect(s).toContain("退出：s 停止容器  k 保留以后再用  c 取消");
    keys("k");
    await waitFor("lvs-lab exited 0");
    expect(screen()).toContain("实验继续运行（实例 e2e-ui-zh），你的进度已保存。");
    expect(screen()).toContain("── rs1 上的终端 · 实例 e2e-ui-zh · 第 3 步（共 3 步）：让 rs1 的回包经过调度器");
    captures.push(screen());
    writeFileSync(`/tmp/lvs-lab-e2e-zh-captures.txt`, captures.join("\n\n======== next capture ========\n\n"));
    const ids = execFileSync("docker", ["ps", "-q", "--filter", `label=io.lvs-lab.instance=${NAME}`], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    expect(ids).toHaveLength(3);
  }, 240_000);
});
