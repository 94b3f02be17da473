/**
 * A Docker host may have networks lvs-lab cannot read as IPv4 blocks (IPv6-enabled ones).
 * They cannot collide with a lab's IPv4 subnets: start skips them, says so under --debug,
 * and never calls that an internal error.
 */
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.js";

const NET = "lvs-lab-t-ipv6-foreign";
const SUBNET = "2001:db8:1::/64";
const INSTANCE = "t-ipv6";

function removeNetwork(): void {
  try {
    execFileSync("docker", ["network", "rm", NET], { stdio: "ignore" });
  } catch {
    /* not there */
  }
}

afterAll(async () => {
  await cli(["stop", "--name", INSTANCE]);
  removeNetwork();
});

describe("an IPv6 network on the engine", () => {
  it("start dnat skips it (said under --debug) and the lab works", async () => {
    removeNetwork();
    // Labelled like lvs-lab's own resources, so that `lvs-lab stop --all` sweeps it if this test dies.
    execFileSync("docker", ["network", "create", "--ipv6", "--subnet", SUBNET, "--label", "io.lvs-lab=1", "--label", `io.lvs-lab.instance=${NET}`, NET], { stdio: "ignore" });

    const start = await cli(["start", "dnat", "--name", INSTANCE, "--no-ui", "--debug"]);
    expect(start.stderr).not.toMatch(/internal error/);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toMatch(new RegExp(`lvs-lab:subnets not IPv4, skipped: .*${SUBNET.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
    expect(start.stdout).toMatch(/network ext\s+\d+\.\d+\.\d+\.\d+\/\d+/);

    const check = await cli(["check", "--name", INSTANCE, "--json"]);
    expect(check.code, check.stderr).toBe(1); // step 1 not done yet: a verdict, not an error
  });
});
