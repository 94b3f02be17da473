/**
 * The fence on the VM's engine (one small test: the VM is slow and shared). Inside the VM
 * the "host" is the VM itself, with dockerd's API on TCP: from a lab container, its own
 * director answers, while a listener in the VM's own network namespace answers only without
 * the VM's fence (vm/init, every bridge at once), and the Docker API never.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labImageRef } from "../src/docker/image.js";
import { FENCE_LABEL, FENCES_EVERY_BRIDGE } from "../src/lab/isolation.js";
import { startLab, stopLab, type LabSession } from "../src/lab/session.js";
import { lvsEngine } from "./helpers/lvs-engine.js";
import { pings, reach } from "./helpers/reach.js";

const target = await lvsEngine();
const NAME = "i-iso-vm";
const LISTENER_PORT = 47011;
const DOCKER_API_PORT = 2375;

describe.skipIf(!target)("an instance in the VM is fenced off from the VM's own services", () => {
  // The describe body runs even when skipped: the engine is only read inside the hooks and the test.
  const engine = () => target!.engine;
  let s: LabSession;

  beforeAll(async () => {
    await stopLab(engine(), NAME);
    s = await startLab("dnat", engine(), { name: NAME });
  }, 600_000);

  afterAll(async () => {
    await stopLab(engine(), NAME);
  }, 300_000);

  it("reaches its own director, not the VM's listener (which answers without the rules) nor Docker's TCP API", async () => {
    const engine = s.engine;
    expect(await pings(engine, s.containers.client!, s.vars["director.ext"]!)).toBe(true);
    expect((await engine.labels())[FENCE_LABEL]).toBe(FENCES_EVERY_BRIDGE);
    const rules = (await engine.runOnHost(labImageRef(), "iptables-save -t filter", "reading the rules")).stdout;
    expect(rules).toContain("-A INPUT -i br-+ -j DROP");
    expect(rules).toContain("-A DOCKER-USER -i br-+ ! -o br-+ -j DROP");
    expect(rules).toContain("-A DOCKER-USER ! -i br-+ -o br-+ -j DROP");
    // dockerd kept the chain it found: its RETURN comes after the VM's rules, its jump to the chain first.
    expect(rules.indexOf("-A DOCKER-USER -j RETURN")).toBeGreaterThan(rules.indexOf("-A DOCKER-USER ! -i br-+ -o br-+ -j DROP"));
    expect(rules.split("\n").find((l) => l.startsWith("-A FORWARD"))).toBe("-A FORWARD -j DOCKER-USER");

    const gw = s.topology.networks.ext!.gateway;
    const targets = [`${gw}:${LISTENER_PORT}`, `${gw}:${DOCKER_API_PORT}`];
    // A throw-away listener in the VM's own network namespace: it ends at its first
    // connection, or after 100 s (within the engine call's patience).
    const listener = engine
      .runOnHost(
        labImageRef(),
        `timeout 100 python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", ${LISTENER_PORT})); s.listen(8); s.accept()' || true`,
        "a listener on the VM",
      )
      .catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 5_000));
    const fenced = await reach(engine, s.containers.client!, targets);
    const input = (op: string) => engine.runOnHost(labImageRef(), `iptables ${op} INPUT -i br-+ -j DROP`, "the VM's fence");
    await input("-D");
    const unfenced = await reach(engine, s.containers.client!, targets);
    await input("-I");
    await listener;

    expect(fenced).toEqual(Object.fromEntries(targets.map((t) => [t, "timeout"])));
    // The control: without the VM's INPUT rule the listener answers. (The Docker API stays out of
    // reach either way: vm/init drops port 2375 on every interface but the VM's eth0.)
    expect(unfenced[targets[0]!]).toBe("open");
  }, 600_000);
});
