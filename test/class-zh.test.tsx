/**
 * The instructor's side of a class in Chinese: the watch grid and a learner's detail at
 * 80x24 (wide characters take two columns, and the columns still line up), the serve
 * banner, and the web page's texts (its HTML here; its script in Chromium where present).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "ink-testing-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRecord, classView, emptyClass, type ClassView, type LabInfo } from "../src/class/aggregate.js";
import { serveBanner } from "../src/class/banner.js";
import type { LearnerDetail } from "../src/class/ledger.js";
import type { LogRecord } from "../src/class/log.js";
import { startClassServer, type ClassServer } from "../src/class/server.js";
import { initialWatch, reduceWatch, type WatchEvent, type WatchState } from "../src/class/watch/state.js";
import { WatchScreen } from "../src/class/watch/view.js";
import { pageHtml, scriptTexts, signInPage } from "../src/class/web/page.js";
import { setLanguage } from "../src/i18n/index.js";
import { displayWidth } from "../src/text/width.js";
import { Browser, findChromium, type Page } from "./helpers/chromium.js";
import { event, failing, passing } from "./helpers/class.js";
import { post } from "./helpers/http.js";

const MIN = 60_000;
const HASH = "0".repeat(64);
const DNAT_ZH: LabInfo = {
  id: "dnat",
  title: "用 iptables DNAT 做端口转发",
  steps: [
    { id: "forward", title: "让调度器转发数据包" },
    { id: "dnat-rule", title: "用 DNAT 改写目的地址" },
    { id: "gateway", title: "让 rs1 的应答经调度器返回" },
  ],
};
const failingZh = {
  kind: "http",
  node: "client",
  description: "客户端向 198.51.100.50:8001 发出的 4 个请求都得到应答",
  ok: false,
  message: "4 个请求中只有 0 个得到应答；其余的：超时。实际服务器 rs1 的默认路由经由 10.0.1.1（int 上 Docker 的网关），而不是经由 10.0.1.50（调度器），所以应答没有经过调度器返回客户端。",
  path: [
    { node: "client", what: "向 198.51.100.50:8001 发出 SYN" },
    { node: "rs1", what: "经由 10.0.1.1 向 198.51.100.100 应答，没有经过调度器" },
  ],
};

const records: LogRecord[] = [
  { r: "join", t: 0, learner: "a", name: "张伟", tokenHash: HASH },
  { r: "join", t: 0, learner: "b", name: "bob", tokenHash: HASH },
  { r: "join", t: 0, learner: "c", name: "李娜", tokenHash: HASH },
  { r: "join", t: 0, learner: "d", name: "王", tokenHash: HASH },
  { r: "event", t: 0, learner: "a", e: event({ step: "gateway", passed: ["forward", "dnat-rule"], checks: [failing("gateway")] }) },
  { r: "event", t: 0, learner: "b", e: event({ step: "dnat-rule", passed: ["forward"], helped: ["forward"], hints: { "dnat-rule": 2 }, checks: [failing("forward"), failing("dnat-rule", failingZh)] }) },
  { r: "event", t: 6 * MIN, learner: "c", e: event({ step: "gateway", passed: ["forward", "dnat-rule", "gateway"], stepSeconds: 30, checks: [passing("gateway")] }) },
];
const view: ClassView = classView(records.reduce(applyRecord, emptyClass("周五工作坊")), [DNAT_ZH], { now: 7 * MIN, stuckMinutes: 5 });

function frameOf(state: WatchState): string[] {
  const { lastFrame, unmount } = render(<WatchScreen state={state} width={80} height={24} />);
  const frame = lastFrame() ?? "";
  unmount();
  return frame.split("\n");
}

function play(state: WatchState, ...events: WatchEvent[]): WatchState {
  return events.reduce((s, e) => reduceWatch(s, e).state, state);
}

/** The terminal column where `mark` first appears in `line`. */
const columnOf = (line: string, mark: string) => displayWidth(line.slice(0, line.indexOf(mark)));

beforeAll(() => void setLanguage("zh-CN"));
afterAll(() => void setLanguage("en"));

describe("the watch grid in Chinese at 80x24", () => {
  it("says everything in Chinese, each line within 80 columns, the marks under their step numbers", () => {
    const lines = frameOf(play(initialWatch, { type: "view", view }));
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(displayWidth(line), line).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^lvs-lab 课堂 · 周五工作坊 +4 名学员 · 实时$/);
    expect(displayWidth(lines[0]!)).toBe(80);
    expect(lines).toContain("用 iptables DNAT 做端口转发 · 全班进行到第 3/3 步");
    const head = lines.find((l) => l.includes("学员") && l.includes("标记"))!;
    expect(head).toBe("  学员             1 2 3  步骤  本步用时 提示  标记");
    const row = (name: string) => lines.find((l) => l.includes(name))!;
    expect(row("bob")).toBe("▶ bob              ✘ ✘ ·  2/3   7 分钟   2     卡住 7 分钟 回退 1 离线");
    expect(row("张伟")).toBe("  张伟             ✔ ✔ ✘  3/3   7 分钟   0     卡住 7 分钟 离线");
    expect(row("李娜")).toBe("  李娜             ✔ ✔ ✔  完成           0");
    for (const name of ["张伟", "bob", "李娜"]) expect(columnOf(row(name), name === "bob" ? "✘" : "✔"), name).toBe(columnOf(head, "1"));
    expect(columnOf(row("李娜"), "完成")).toBe(columnOf(head, "步骤"));
    expect(columnOf(row("bob"), "2/3")).toBe(columnOf(head, "步骤"));
    expect(columnOf(row("bob"), "7 分钟")).toBe(columnOf(head, "本步用时"));
    expect(columnOf(row("张伟"), "卡住")).toBe(columnOf(head, "标记"));
    expect(lines).toContain("已加入、尚未开始实验：王");
    expect(lines.at(-1)).toBe("↑↓ 学员  ⏎ 详情  c 赶进度到 3  C 所有落后者  q 退出");
  });

  it("says when nobody has joined, when the stream is down, and who is not behind", () => {
    const empty = classView(emptyClass("周五工作坊"), [DNAT_ZH], { now: 0, stuckMinutes: 5 });
    expect(frameOf(play(initialWatch, { type: "view", view: empty }))).toContain("还没有学员加入。");
    expect(frameOf(play(initialWatch, { type: "view", view: empty }, { type: "disconnected", problem: "connect ECONNREFUSED" }))[0]).toMatch(/0 名学员 · 正在重连：connect ECONNREFUSED$/);
    expect(play(initialWatch, { type: "view", view }, { type: "key", input: "j", key: {} }, { type: "key", input: "c", key: {} }).notice).toBe("张伟 没有落后于全班（第 3 步）。");
  });

  it("wraps a Chinese verdict between characters within 80 columns, losing nothing", () => {
    const detail: LearnerDetail = {
      learner: "b",
      name: "bob",
      lab: { id: "dnat", title: DNAT_ZH.title, steps: 3 },
      row: view.labs[0]!.rows.find((r) => r.name === "bob"),
      step: { number: 2, id: "dnat-rule", title: "用 DNAT 改写目的地址" },
      checkedAt: Date.UTC(2026, 0, 1, 10, 31, 2),
      probes: [{ ...failingZh, ok: true, message: "通过。" }, failingZh],
    };
    const state = play(initialWatch, { type: "view", view }, { type: "key", input: "", key: { return: true } }, { type: "detail", detail });
    const lines = frameOf(state);
    for (const line of lines) expect(displayWidth(line), line).toBeLessThanOrEqual(80);
    expect(lines[1]).toBe("bob · dnat 第 2/3 步：用 DNAT 改写目的地址");
    expect(lines[2]).toMatch(/^本步用时 7 分钟 · 提示 2 · 检查于 \d\d:\d\d:\d\d/);
    const message = lines.filter((l) => l.startsWith("    ") && !l.startsWith("      ") && !l.includes("数据包"));
    expect(message.length).toBeGreaterThan(1);
    expect(message.map((l) => l.slice(4)).join("").replace(/ /g, "")).toBe(failingZh.message.replace(/ /g, ""));
    expect(lines).toContain("    数据包的去向：");
    expect(lines).toContain("      client  向 198.51.100.50:8001 发出 SYN");
    expect(lines).toContain("（另有 1 项检查通过）");
    expect(lines.at(-1)).toBe("Esc 返回  ↑↓ 学员  c 赶进度  q 退出");
  });
});

describe("class serve's banner in Chinese", () => {
  it("lines the commands up after labels of different widths", () => {
    const lines = serveBanner({ title: "周五工作坊", url: "http://198.51.100.7:7700", joinCode: "ABCD-EFGH", instructorToken: "t0k3n", bundle: true, logPath: "/tmp/events.jsonl", replayed: { records: 3, skipped: 1 } })
      .join("\n")
      .replace(/\x1b\[\d+m/g, "")
      .split("\n");
    expect(lines).toEqual([
      "课堂“周五工作坊”已开放，地址 http://198.51.100.7:7700",
      "",
      "  学员加入：  lvs-lab class join http://198.51.100.7:7700 --code ABCD-EFGH --as NAME",
      "  讲师页面：  http://198.51.100.7:7700/  （用讲师令牌登录）",
      "  讲师令牌：  t0k3n",
      "  在终端中：  lvs-lab class watch",
      "  离线包：    curl -fo lvs-lab-offline.tar 'http://198.51.100.7:7700/api/bundle?code=ABCD-EFGH'",
      "",
      "事件日志 /tmp/events.jsonl：重放了 3 条记录，跳过了 1 行无法读取的内容。",
      "Ctrl-C 停止服务器；再次运行 `lvs-lab class serve` 会继续这个课堂（--new 开始新的课堂）。",
    ]);
  });
});

describe("the class web page in Chinese", () => {
  it("writes its HTML in Chinese, escaped, with lang zh-CN", () => {
    const html = pageHtml("zh-CN");
    expect(html).toContain('<html lang="zh-CN">');
    for (const text of ["<title>lvs-lab 课堂</title>", '<span id="status" class="status">正在连接…</span>', "加入： <code", "还没有学员加入。", 'placeholder="对全班说"', ">发送</button>", ">导出 CSV</a>"]) expect(html).toContain(text);
    expect(signInPage(undefined, "zh-CN")).toContain('<p id="problem">这个页面需要讲师令牌。</p>\n<p>粘贴 <code>lvs-lab class serve</code> 打印的讲师令牌。</p>');
    expect(signInPage(undefined, "zh-CN")).toContain('<label>讲师令牌 <input name="token" type="password" autocomplete="off" required autofocus></label> <button type="submit">登录</button>');
    expect(pageHtml("en")).toContain("Join: <code");
  });

  it("gives its script every sentence in Chinese, no catalogue key left", () => {
    const texts = scriptTexts("zh-CN");
    for (const [name, text] of Object.entries(texts)) {
      expect(text, name).not.toMatch(/^classroom\.|^vm\./);
      expect(text, name).not.toBe(scriptTexts("en")[name as keyof typeof texts]);
    }
  });
});

const chromium = findChromium();

describe.skipIf(!chromium)("the class web page in Chinese, in Chromium", () => {
  let server: ClassServer;
  let dir: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lvs-class-zh-"));
    server = await startClassServer({ dir, labs: [DNAT_ZH], title: "周五工作坊", port: 0, bind: "127.0.0.1", broadcastMs: 50, stuckMinutes: 5, lang: "zh-CN" });
    const tokens: Record<string, string> = {};
    for (const name of ["张伟", "bob"]) tokens[name] = (await post(`${server.url}/api/join`, { code: server.joinCode, name })).json.token;
    const now = Date.now();
    await post(`${server.url}/api/events`, { now, events: [event({ at: now - 12 * MIN, step: "gateway", passed: ["forward", "dnat-rule"], stepSeconds: 60, checks: [failing("gateway", failingZh)] })] }, tokens["张伟"]);
    await post(`${server.url}/api/events`, { now, events: [event({ at: now - MIN, step: "forward", stepSeconds: 30, checks: [failing("forward")] })] }, tokens.bob);
    browser = await Browser.launch(chromium!);
    page = await browser.newPage(1280, 720);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("draws the grid, its headings, flags and buttons in Chinese", async () => {
    await page.goto(`${server.url}/`);
    expect(await page.evaluate("document.getElementById('problem').textContent")).toBe("这个页面需要讲师令牌。");
    await page.signIn(server.instructorToken);
    await page.waitFor("document.querySelectorAll('tbody tr').length === 2");
    expect(await page.evaluate("document.documentElement.lang")).toBe("zh-CN");
    expect(await page.evaluate("document.title")).toBe("周五工作坊 · lvs-lab 课堂");
    expect(await page.evaluate("document.getElementById('status').textContent")).toBe("实时");
    expect(await page.evaluate("document.querySelector('section.lab h2').textContent")).toBe("用 iptables DNAT 做端口转发 · 全班进行到第 3/3 步");
    expect(await page.evaluate(`[...document.querySelectorAll("thead th")].map((th) => th.textContent).join("|")`)).toBe("学员|1|2|3|步骤|本步用时|提示|标记|未通过的检查|");
    const rows = await page.evaluate<string[]>(`[...document.querySelectorAll("tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent).join("|"))`);
    expect(rows).toEqual([
      `bob|✘|·|·|1/3|1 分钟|0||rs1: default route via 10.0.1.50 (director)|赶到第 3 步`,
      `张伟|✔|✔|✘|3/3|13 分钟|0|卡住 12 分钟|${failingZh.description}|`,
    ]);
    expect(await page.evaluate("document.querySelector('td.step').title")).toBe("第 1 步：未通过");
    expect(await page.evaluate("document.querySelector('button.catch-up-all').textContent")).toBe("让所有落后者（1 人）赶到第 3 步");
    await page.evaluate(`document.querySelector("button.catch-up").click()`);
    expect(await page.waitFor("document.getElementById('notice').textContent")).toBe("已向 bob 提议赶到第 3 步。");
    await page.waitFor(`[...document.querySelectorAll("tbody tr")].some((tr) => tr.textContent.includes("已提议 →3"))`, 3000);
  });

  it("shows a learner's detail in Chinese", async () => {
    await page.evaluate(`[...document.querySelectorAll("tbody tr")].find((tr) => tr.textContent.startsWith("张伟")).click()`);
    await page.waitFor("!document.getElementById('detail').hidden && document.querySelectorAll('#detail .probe').length > 0");
    expect(await page.evaluate("document.querySelector('#detail h2').textContent")).toBe("张伟 · 第 3 步：让 rs1 的应答经调度器返回");
  });
});
