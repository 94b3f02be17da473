import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allocateSubnets } from "../src/topology/allocate.js";
import { loadTopology, parseTopology } from "../src/topology/load.js";
import { planInstance } from "../src/lab/plan.js";
import { resolveTopology, templateVariables } from "../src/topology/resolve.js";
import { labelFilter, labelsFor } from "../src/docker/labels.js";
import { VERSION } from "../src/version.js";
import { FileError } from "../src/errors.js";

const valid = `id: t
title: T
networks:
  ext: { subnet: 198.51.100.0/24 }
  int: { subnet: 10.0.1.0/24 }
nodes:
  client: { role: client, addresses: { ext: 100 } }
  director: { role: director, addresses: { ext: 50, int: 50 } }
  rs1: { role: realserver, addresses: { int: 210 }, serve: [8000] }
vips:
  vip: { network: ext, host: 77 }
`;

function errorOf(text: string): string {
  try {
    parseTopology(text, "topologies/t.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(FileError);
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("topology files", () => {
  it("ships valid topologies for every lab", async () => {
    const ids = readdirSync(new URL("../topologies", import.meta.url)).map((f) => f.replace(/\.yaml$/, ""));
    expect(ids).toEqual(expect.arrayContaining(["dnat", "nat", "dr", "tun", "failover", "schedulers"]));
    for (const id of ids) expect((await loadTopology(id)).id).toBe(id);
  });

  it("names file, line and field of each mistake", () => {
    expect(errorOf(valid.replace("rs1: { role: realserver, addresses: { int: 210 }", "rs1: { role: realserver, addresses: { dmz: 210 }"))).toBe(
      'topologies/t.yaml:9: nodes.rs1.addresses.dmz: unknown network "dmz" (known: ext, int)',
    );
    expect(errorOf(valid.replace("10.0.1.0/24", "198.51.100.128/25"))).toBe(
      'topologies/t.yaml:5: networks.int.subnet: overlaps network "ext" (198.51.100.0/24)',
    );
    expect(errorOf(valid.replace("{ int: 210 }", "{ int: 50 }"))).toBe(
      "topologies/t.yaml:9: nodes.rs1.addresses.int: address int/50 is already used by director",
    );
    expect(errorOf(valid.replace("role: client", "role: attacker"))).toMatch(/^topologies\/t\.yaml:7: nodes\.client\.role: Invalid enum value/);
    expect(errorOf(valid + "nodes:\n  x: {}\n")).toMatch(/^topologies\/t\.yaml:12: invalid YAML: Map keys must be unique/);
    expect(errorOf("id: t\ntitle: [unclosed\n")).toMatch(/^topologies\/t\.yaml:\d+: invalid YAML/);
  });
});

describe("address allocation", () => {
  const topology = parseTopology(valid, "t.yaml");

  it("keeps the preferred blocks when they are free", () => {
    expect(allocateSubnets(topology, [])).toEqual({ ext: "198.51.100.0/24", int: "10.0.1.0/24" });
  });

  it("moves to free blocks when the preferred ones are taken, and never into reserved ranges", () => {
    const first = allocateSubnets(topology, []);
    const second = allocateSubnets(topology, Object.values(first));
    expect(second).toEqual({ ext: "198.18.0.0/24", int: "10.0.2.0/24" });
    const third = allocateSubnets(topology, [...Object.values(first), ...Object.values(second), "10.0.0.0/16"]);
    expect(third.int).toBe("10.1.0.0/24");
  });

  it("treats a host route covering a block as taken", () => {
    expect(allocateSubnets(topology, ["10.0.0.0/8"]).int).toMatch(/^198\.18\./);
  });

  it("scattered (after a lost race), picks one of the first 32 free blocks, never a taken one", () => {
    const taken = ["198.51.100.0/24", "10.0.1.0/24", "10.0.3.0/24"];
    expect(allocateSubnets(topology, taken, { scatter: () => 0 })).toEqual(allocateSubnets(topology, taken));
    expect(allocateSubnets(topology, taken, { scatter: () => 0.999 })).toEqual({ ext: "198.18.31.0/24", int: "10.0.34.0/24" });
    const picks = Array.from({ length: 50 }, () => allocateSubnets(topology, taken, { scatter: Math.random }));
    expect(picks.every((p) => !taken.includes(p.ext!) && !taken.includes(p.int!) && p.ext !== p.int)).toBe(true);
    expect(new Set(picks.map((p) => p.int)).size).toBeGreaterThan(10);
  });
});

describe("resolved topology and plan", () => {
  const resolved = resolveTopology(parseTopology(valid, "t.yaml"), { ext: "198.18.0.0/24", int: "10.0.1.0/24" });

  it("offers template variables from the allocation", () => {
    const vars = templateVariables(resolved, { director: { ext: "eth1", int: "eth0" } }, "alice");
    expect(vars).toMatchObject({
      vip: "198.18.0.77",
      "director.ext": "198.18.0.50",
      "director.ext.iface": "eth1",
      "int.gateway": "10.0.1.1",
      "rs1.int": "10.0.1.210",
    });
  });

  it("plans labelled, unprivileged containers with fixed addresses", () => {
    const plan = planInstance(resolved, "alice", "lvs-lab/lab:x");
    const director = plan.containers.find((c) => c.node === "director")!;
    expect(director.labels).toMatchObject({ "io.lvs-lab.instance": "alice", "io.lvs-lab.node": "director", "io.lvs-lab.role": "director" });
    expect(director.capAdd).toContain("NET_BROADCAST");
    expect(director.capAdd).not.toContain("SYS_ADMIN");
    expect(director.addresses).toEqual([
      { network: "lvs-lab-alice-ext", ip: "198.18.0.50" },
      { network: "lvs-lab-alice-int", ip: "10.0.1.50" },
    ]);
    expect(plan.networks.find((n) => n.key === "ext")!.reserved).toEqual({ vip: "198.18.0.77" });
  });

  it("selects resources by label", () => {
    expect(labelFilter("alice")).toEqual({ label: ["io.lvs-lab=1", "io.lvs-lab.instance=alice"] });
    expect(labelsFor({ instance: "a", lab: "dnat" })).toEqual({ "io.lvs-lab": "1", "io.lvs-lab.version": VERSION, "io.lvs-lab.instance": "a", "io.lvs-lab.lab": "dnat" });
  });
});
