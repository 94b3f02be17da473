/**
 * The instructor's credential in a real headless Chromium (Debian's `chromium`; skipped
 * with a message where it is absent), all on 127.0.0.1: the address `class serve` prints
 * for the page, opened and signed in to, leaves no trace of the token in the browser's
 * History database (what address-bar suggestions come from) or anywhere else in its
 * profile; a listener on another port of the host gets no instructor token with the
 * browser's requests; two classes on one host keep their own sign-ins.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveBanner } from "../src/class/banner.js";
import { startClassServer, type ClassServer } from "../src/class/server.js";
import { t } from "../src/i18n/index.js";
import { Browser, findChromium, type Page } from "./helpers/chromium.js";
import { DNAT } from "./helpers/class.js";

const chromium = findChromium();
if (!chromium) console.warn("class-attack-browser.test.ts skipped: no chromium here (`apt-get install chromium`; scripts/setup.sh installs it)");
const sqlite = spawnSync("sh", ["-c", "command -v sqlite3"]).status === 0;

/** Every file under a directory, recursively. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Polls an expression across navigations (a context destroyed mid-way is retried). */
async function settle(page: Page, expression: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await page.evaluate<boolean>(expression).catch(() => false);
    if (ok) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Opens the page address `serve` printed, and signs in with the token where the page asks for it. */
async function openAsInstructor(page: Page, server: ClassServer): Promise<void> {
  const banner = serveBanner({ ...server, title: server.ledger.state.title, bundle: false }).join("\n").replace(/\x1b\[[0-9;]*m/g, "");
  const row = banner.split("\n").find((l) => l.includes(t("classroom.serve.label.page")))!;
  const address = /http:\/\/\S+/.exec(row)![0];
  await page.goto(address);
  if (await page.evaluate<boolean>("!!document.querySelector('form input[name=token]')")) {
    await page.evaluate(`document.querySelector('form input[name=token]').value = ${JSON.stringify(server.instructorToken)}; document.querySelector('form').submit()`);
  }
  await settle(page, "location.pathname === '/' && document.getElementById('title')?.textContent === 'Workshop'");
}

describe.skipIf(!chromium)("the instructor's credential in Chromium", () => {
  const dirs: string[] = [];
  const servers: ClassServer[] = [];
  let browser: Browser;
  let page: Page;
  let rogue: Server;
  const heard: string[] = [];

  const newClass = async () => {
    const dir = await mkdtemp(join(tmpdir(), "lvs-class-browser-"));
    dirs.push(dir);
    const server = await startClassServer({ dir, labs: [DNAT], title: "Workshop", port: 0, bind: "127.0.0.1", broadcastMs: 50 });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    rogue = createServer((req, res) => {
      heard.push(req.headers.cookie ?? "");
      res.end("hello");
    });
    await new Promise<void>((r) => rogue.listen(0, "127.0.0.1", r));
    browser = await Browser.launch(chromium!);
    page = await browser.newPage(1024, 600);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
    rogue?.closeAllConnections();
    await new Promise((r) => rogue?.close(r));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("sends no instructor token to another port, and keeps two classes' sign-ins apart; History holds no token", async () => {
    const a = await newClass();
    await openAsInstructor(page, a);
    await page.goto(`http://127.0.0.1:${(rogue.address() as AddressInfo).port}/anything`);
    expect(heard.length).toBeGreaterThan(0);
    for (const cookie of heard) expect(cookie).not.toContain(a.instructorToken);

    const b = await newClass();
    await openAsInstructor(page, b);
    // Signing in to B left A's sign-in alone.
    await page.goto(`${a.url}/`);
    await settle(page, "document.getElementById('title')?.textContent === 'Workshop' && !document.getElementById('problem')");

    await browser.close({ keepProfile: true });
    try {
      const profile = browser.profile;
      const history = join(profile, "Default", "History");
      if (sqlite) {
        const urls = execFileSync("sqlite3", [history, "select url from urls"], { encoding: "utf8" }).trim().split("\n");
        expect(urls).toContain(`${a.url}/`);
        for (const url of urls) for (const token of [a.instructorToken, b.instructorToken]) expect(url).not.toContain(token);
      }
      // Nowhere in the profile: not History, not its journal, not the session files.
      for (const file of await files(profile)) {
        const bytes = await readFile(file);
        for (const token of [a.instructorToken, b.instructorToken]) expect([file, bytes.includes(token)]).toEqual([file, false]);
      }
    } finally {
      await rm(browser.profile, { recursive: true, force: true });
    }
  }, 60_000);
});
