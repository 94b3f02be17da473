/**
 * The terminal UI end to end: the real binary in an 80x24 tmux pane completes the dnat
 * lab with keys and typed commands only (x opens each shell), then quits keeping the lab.
 */
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, cli } from "./helpers/cli.js";
import { tmuxPane } from "./helpers/tmux.js";

const NAME = "e2e-ui";
const SESSION = `lvs-lab-e2e-${process.pid}`;

const { tmux, screen, keys, waitFor, inShell } = tmuxPane(SESSION, { shellPicker: "Shell on:", checked: /Checks \d+\/\d+ pass|checking…/ });

async function addresses(node: string): Promise<Array<{ iface: string; address: string }>> {
  const r = await cli(["exec", node, "--name", NAME, "--", "ip", "-o", "-4", "addr"]);
  return [...r.stdout.matchAll(/^\d+: (\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\//gm)].map((m) => ({ iface: m[1]!, address: m[2]! })).filter((a) => a.iface !== "lo");
}

const net24 = (a: string) => a.split(".").slice(0, 3).join(".");

describe("the terminal UI in tmux", () => {
  afterAll(async () => {
    try {
      tmux("kill-session", "-t", SESSION);
    } catch {
      // already gone
    }
    await cli(["stop", "--name", NAME]);
  });

  it("completes the dnat lab with keys and shells only, then quits keeping the lab", async () => {
    await cli(["stop", "--name", NAME]);
    // CI makes ink print only the last frame; NO_COLOR keeps the capture plain.
    const command = `env -u CI NO_COLOR=1 node ${BIN} start dnat --name ${NAME} --restart; echo "lvs-lab exited $?"; sleep 600`;
    tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command);

    let s = await waitFor("Checks 0/1 pass", 60_000);
    expect(s).toMatch(/step 1 of 3/);
    expect(s).toContain("▶✘ 1 Let the director");

    const client = (await addresses("client"))[0]!;
    const director = await addresses("director");
    const ext = director.find((a) => net24(a.address) === net24(client.address))!;
    const int = director.find((a) => a !== ext)!;
    const rs1 = (await addresses("rs1"))[0]!;

    await inShell("2", "director", ["echo 1 > /proc/sys/net/ipv4/ip_forward"]);
    s = await waitFor("step 2 of 3");
    expect(s).toContain(" ✔ 1 Let the director");

    await inShell("2", "director", [`iptables -t nat -A PREROUTING -i ${ext.iface} -p tcp --dport 8001 -j DNAT --to-destination ${rs1.address}:8000`]);
    // A step with a prediction stays on its answer until n.
    await waitFor("Step 2 passed. n: next step");
    keys("n");
    s = await waitFor("step 3 of 3");
    expect(s).toContain(" ✔ 2 Rewrite the desti");

    await inShell("3", "rs1", [`ip route replace default via ${int.address}`]);
    s = await waitFor("lab complete!");
    expect(s).toContain("▶✔ 3 Send rs1");
    expect(s).toMatch(/Checks 4\/4 pass/);
    expect(s).toContain("replies: via director");
    expect(s).toMatch(/\(\d+ packets\)/);

    keys("q");
    await waitFor("keep them for later");
    keys("k");
    await waitFor("lvs-lab exited 0");
    expect(screen()).toContain("The lab keeps running (instance e2e-ui)");
    const ids = execFileSync("docker", ["ps", "-q", "--filter", `label=io.lvs-lab.instance=${NAME}`], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    expect(ids).toHaveLength(3);
  }, 180_000);
});
