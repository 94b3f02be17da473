/**
 * Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
 * NUL-terminated JSON on file descriptors 3 and 4), so tests need no browser library:
 * open a page, evaluate in it, wait for what a person would see, take a screenshot.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** The Chromium binary: $CHROMIUM, or Debian's `chromium`, or undefined. */
export function findChromium(): string | undefined {
  for (const candidate of [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"]) {
    if (candidate && spawnSync("sh", ["-c", `command -v "${candidate}"`]).status === 0) return candidate;
  }
  return undefined;
}

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
}

export class Browser {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(msg: any) => void>();

  private constructor(
    private readonly proc: ChildProcess,
    /** The --user-data-dir: History and the other files a person's browser keeps. */
    readonly profile: string,
  ) {
    const out = proc.stdio[4] as Readable;
    let buffer = "";
    out.setEncoding("utf8");
    out.on("data", (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\0")) >= 0) {
        const msg = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (p) {
          this.pending.delete(msg.id);
          if (msg.error) p.reject(new Error(`${msg.error.message}`));
          else p.resolve(msg.result);
        } else this.listeners.forEach((l) => l(msg));
      }
    });
  }

  static async launch(binary: string): Promise<Browser> {
    const profile = await mkdtemp(join(tmpdir(), "lvs-chromium-"));
    const proc = spawn(
      binary,
      ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run", "--remote-debugging-pipe", `--user-data-dir=${profile}`, "about:blank"],
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
    );
    return new Browser(proc, profile);
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.proc.stdio[3] as Writable).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
    });
  }

  on(listener: (msg: any) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async newPage(width = 1280, height = 720): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, sessionId);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  /** Closes the browser (which writes History and the rest out) and removes the profile unless asked to keep it. */
  async close(opts: { keepProfile?: boolean } = {}): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      await this.send("Browser.close").catch(() => undefined);
      await new Promise((r) => (this.proc.exitCode !== null ? r(undefined) : this.proc.once("exit", r)));
    }
    if (!opts.keepProfile) await rm(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(
    private readonly browser: Browser,
    private readonly sessionId: string,
  ) {}

  send(method: string, params: object = {}): Promise<any> {
    return this.browser.send(method, params, this.sessionId);
  }

  private loadEvent(): Promise<void> {
    return new Promise<void>((resolve) => {
      const off = this.browser.on((msg) => {
        if (msg.sessionId === this.sessionId && msg.method === "Page.loadEventFired") {
          off();
          resolve();
        }
      });
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    const loaded = this.loadEvent();
    await this.send("Page.navigate", { url });
    await loaded;
  }

  /** Fills the class page's sign-in form with the token, as a person would, and waits for the page it leads to. */
  async signIn(token: string): Promise<void> {
    const loaded = this.loadEvent();
    await this.evaluate(`document.querySelector("#sign-in input[name=token]").value = ${JSON.stringify(token)}; document.getElementById("sign-in").submit()`);
    await loaded;
  }

  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** Polls an expression until it is truthy; returns its value. */
  async waitFor<T = unknown>(expression: string, timeoutMs = 5000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate<T>(expression);
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async screenshot(path: string): Promise<void> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    await writeFile(path, Buffer.from(data, "base64"));
  }
}
