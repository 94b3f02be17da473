/** Driving the real binary in a tmux pane: keys in, the screen out, waiting for what it shows. */
import { execFileSync } from "node:child_process";

/** The words the UI shows when its shell picker opens and when it checks again, per language. */
export interface PaneWords {
  shellPicker: string;
  checked: RegExp;
}

export function tmuxPane(session: string, words: PaneWords, utf8 = false) {
  // -u and a UTF-8 locale: tmux draws wide characters as the pane's program meant them.
  const env = utf8 ? { ...process.env, LANG: "C.UTF-8", LC_ALL: "C.UTF-8" } : process.env;
  const tmux = (...args: string[]): string => execFileSync("tmux", [...(utf8 ? ["-u"] : []), ...args], { encoding: "utf8", env });
  const screen = () => tmux("capture-pane", "-p", "-t", session);
  const keys = (...k: string[]) => void tmux("send-keys", "-t", session, ...k);

  async function waitFor(what: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < end) {
      last = screen();
      if (typeof what === "string" ? last.includes(what) : what.test(last)) return last;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`waited ${timeoutMs} ms for ${String(what)}; the screen shows:\n${last}`);
  }

  /** Types lines into the shell on `node` that the UI's x key opened, then leaves it. */
  async function inShell(nodeKey: string, node: string, lines: string[]): Promise<void> {
    keys("x");
    await waitFor(words.shellPicker);
    keys(nodeKey);
    await waitFor(new RegExp(`${node}:/# *$`, "m"));
    for (const line of lines) keys("-l", line), keys("Enter");
    keys("-l", "exit"), keys("Enter");
    await waitFor(words.checked);
  }

  return { tmux, screen, keys, waitFor, inShell };
}
