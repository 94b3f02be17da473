/**
 * The instructor's page in a real headless Chromium (Debian's `chromium`; skipped with a
 * message where it is absent): the token goes in by the sign-in form, the page holds an HTTP-only session cookie,
 * the grid shows what the class did, a hostile name stays text, an event reaches the
 * screen within a second, the catch-up button and a learner's detail work.
 * LVS_LAB_SCREENSHOTS=1 writes the screenshot to docs/class-web.png.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClassServer, type ClassServer } from "../src/class/server.js";
import { Browser, findChromium, type Page } from "./helpers/chromium.js";
import { DNAT, event, failing, failingHttp, passing } from "./helpers/class.js";
import { http, post } from "./helpers/http.js";

const chromium = findChromium();
if (!chromium) console.warn("class-web.test.ts skipped: no chromium here (`apt-get install chromium`; scripts/setup.sh installs it)");

const EVIL = "<img src=x onerror=alert(1)>";
const MIN = 60_000;

describe.skipIf(!chromium)("the instructor's page in Chromium", () => {
  let server: ClassServer;
  let dir: string;
  let browser: Browser;
  let page: Page;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lvs-class-web-"));
    server = await startClassServer({ dir, labs: [DNAT], title: "Friday workshop", port: 0, bind: "127.0.0.1", broadcastMs: 50, stuckMinutes: 5 });
    for (const name of ["alice", "bob", EVIL]) tokens[name] = (await post(`${server.url}/api/join`, { code: server.joinCode, name })).json.token;
    const now = Date.now();
    const at = (minutesAgo: number) => now - minutesAgo * MIN;
    const send = (name: string, e: ReturnType<typeof event>) => post(`${server.url}/api/events`, { now, events: [e] }, tokens[name]);
    await send("alice", event({ at: at(12), step: "gateway", passed: ["forward", "dnat-rule"], helped: ["dnat-rule"], stepSeconds: 60, hints: { gateway: 1 }, checks: [failing("gateway", failingHttp)] }));
    await send("bob", event({ at: at(1), step: "forward", stepSeconds: 30, checks: [failing("forward")] }));
    await send(EVIL, event({ at: at(1), step: "gateway", passed: ["forward", "dnat-rule"], checks: [passing("dnat-rule")] }));
    browser = await Browser.launch(chromium!);
    page = await browser.newPage(1280, 720);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const rowText = (name: string) =>
    page.evaluate<string[]>(`[...document.querySelectorAll("tbody tr")].filter((tr) => tr.querySelector("td.name").textContent === ${JSON.stringify(name)}).map((tr) => [...tr.children].map((td) => td.textContent).join("|"))`);

  it("asks for the token in a form, then holds an HTTP-only session, the address never holding the token", async () => {
    await page.goto(`${server.url}/`);
    expect(await page.evaluate("document.getElementById('problem').textContent")).toBe("This page needs the instructor token.");
    await page.signIn(server.instructorToken);
    expect(await page.evaluate("location.href")).toBe(`${server.url}/`);
    expect(await page.evaluate("document.cookie")).toBe("");
    await page.waitFor("document.querySelectorAll('tbody tr').length === 3");
  });

  it("shows the grid: marks, time on step, hints, stuck and the failing probe; a hostile name as text", async () => {
    expect(await page.evaluate("document.getElementById('title').textContent")).toBe("Friday workshop");
    expect(await page.evaluate("document.getElementById('join-command').textContent")).toBe(`lvs-lab class join ${server.url} --code ${server.joinCode} --as NAME`);
    expect(await page.evaluate("document.querySelector('section.lab h2').textContent")).toBe("Port forwarding with iptables DNAT · the class is on step 3 of 3");
    expect(await rowText("alice")).toEqual(["alice|✔|✚|✘|3/3|13 min|1|STUCK 12 min|4 requests from client to 198.51.100.50:8001 get answers|"]);
    expect(await rowText("bob")).toEqual(["bob|✘|·|·|1/3|1 min|0||rs1: default route via 10.0.1.50 (director)|Catch up to 3"]);
    expect(await rowText(EVIL)).toEqual([`${EVIL}|✔|✔|·|3/3|1 min|0|||`]);
    expect(await page.evaluate("document.querySelectorAll('img').length")).toBe(0);
    expect(await page.evaluate("document.title")).toBe("Friday workshop · lvs-lab class");
    expect(await page.evaluate("getComputedStyle(document.querySelector('tr.stuck')).backgroundColor")).toBe("rgb(255, 241, 194)");
  });

  it("updates within a second of a learner's event", async () => {
    const sent = Date.now();
    await post(`${server.url}/api/events`, { now: Date.now(), events: [event({ at: Date.now(), step: "dnat-rule", passed: ["forward"], checks: [passing("forward"), failing("dnat-rule")] })] }, tokens.bob);
    await page.waitFor(`[...document.querySelectorAll("tbody tr")].some((tr) => tr.textContent.startsWith("bob✔✘"))`, 2000);
    expect(Date.now() - sent).toBeLessThan(1000);
  });

  it("offers a catch-up from the button, which the learner's inbox then holds", async () => {
    await page.evaluate(`[...document.querySelectorAll("tbody tr")].find((tr) => tr.textContent.startsWith("bob")).querySelector("button.catch-up").click()`);
    expect(await page.waitFor("document.getElementById('notice').textContent")).toBe("Catch-up to step 3 offered to bob.");
    expect((await http(`${server.url}/api/inbox`, { token: tokens.bob })).json.offer).toMatchObject({ lab: "dnat", step: 3 });
    await page.waitFor(`[...document.querySelectorAll("tbody tr")].some((tr) => tr.textContent.startsWith("bob") && tr.textContent.includes("OFFERED →3"))`, 3000);
  });

  it("shows a learner's failing verdicts and where the packets went", async () => {
    await page.evaluate(`[...document.querySelectorAll("tbody tr")].find((tr) => tr.textContent.startsWith("alice")).click()`);
    await page.waitFor("!document.getElementById('detail').hidden && document.querySelectorAll('#detail .probe').length > 0");
    const text = await page.evaluate<string>("document.getElementById('detail').innerText");
    expect(text).toContain("alice · step 3: Send rs1's replies back through the director");
    expect(text).toContain("✘ 4 requests from client to 198.51.100.50:8001 get answers");
    // The lines `check` and `class watch` draw (text/probe-view.ts), as text nodes.
    expect(await page.evaluate(`[...document.querySelectorAll("#detail .probe .line")].map((l) => l.textContent)`)).toEqual([
      "✘ 4 requests from client to 198.51.100.50:8001 get answers",
      "    Only 0 of 4 requests were answered; the rest: timed out.",
      "    where the packets went:",
      "      client  sent the SYN to 198.51.100.50:8001",
      "      rs1     answered to 198.51.100.100 via 10.0.1.1, not the director",
    ]);
    expect(await page.evaluate(`getComputedStyle(document.querySelector("#detail .probe .line span.red")).color`)).toBe("rgb(179, 19, 27)");
    const out = process.env.LVS_LAB_SCREENSHOTS === "1" ? fileURLToPath(new URL("../docs/class-web.png", import.meta.url)) : join(dir, "class-web.png");
    await page.screenshot(out);
  });

  it("says so on the page when the token is wrong", async () => {
    const other = await browser.newPage(800, 600);
    await other.send("Network.clearBrowserCookies");
    await other.goto(`${server.url}/`);
    await other.signIn("wrong");
    expect(await other.evaluate("location.pathname")).toBe("/signin");
    expect(await other.evaluate("document.getElementById('problem').textContent")).toBe("That token is not this class's instructor token.");
  });
});
