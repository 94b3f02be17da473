/**
 * The persistence probe judged on outputs recorded in the persistence lab on the VM's kernel
 * (6.1.0-50-amd64), addresses mapped to the topology's defaults: the client's requests and
 * the director's `ipvsadm -Sn`, `ipvsadm -Lnc` (TIME_WAIT lines left out) and
 * expire_quiescent_template. Two are edited recordings: wrong-server is quiesced.txt with
 * the weight 0 moved from rs3 to rs2, not-persistent has the requests recorded on the
 * plain service (port 81) under port 80's table without -p. The ipvs check's words for a -p
 * on the wrong service are judged on a written `ipvsadm -Sn`.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { setLanguage } from "../src/i18n/index.js";
import { parseIpvsConnections } from "../src/probes/command-output.js";
import { checkBlockSchema, probeKind } from "../src/probes/registry.js";
import { renderProbe } from "../src/probes/runner.js";
import type { ProbeContext } from "../src/probes/types.js";
import { parseTopology } from "../src/topology/load.js";
import { resolveTopology, templateVariables } from "../src/topology/resolve.js";
import { judgeRecorded, readRecording } from "./helpers/recorded.js";

const topology = resolveTopology(parseTopology(readFileSync(new URL("../topologies/persistence.yaml", import.meta.url), "utf8"), "persistence.yaml"), {});
const ifaces = { director: { ext: "eth0", int: "eth1" }, rs1: { int: "eth0" }, rs2: { int: "eth0" }, rs3: { int: "eth0" }, client: { ext: "eth0" } };
const ctx: ProbeContext = { topology, ifaces, vars: templateVariables(topology, ifaces, "persistence") };

const probe = (expect: string, count = 4) => ({ kind: "persistence", node: "director", client: "client", service: "{{vip}}:80", count, expect });
const judge = (expect: string, fixture: string, count = 4) => judgeRecorded(probe(expect, count), `persistence/${fixture}.txt`, ctx);

afterEach(() => setLanguage("en"));

describe("ipvsadm -Lnc", () => {
  it("reads templates (client port 0) and the ones taken out of use (port 65535)", () => {
    const table = [...readRecording("persistence/moved.txt").values()][1]!.output;
    const templates = parseIpvsConnections(table).filter((c) => c.source.endsWith(":0"));
    expect(templates).toEqual([
      { protocol: "TCP", expires: "04:45", state: "ASSURED", source: "198.51.100.100:0", virtual: "198.51.100.50:80", destination: "10.0.1.211:8000" },
      { protocol: "TCP", expires: "03:36", state: "ASSURED", source: "198.51.100.100:0", virtual: "198.51.100.50:65535", destination: "10.0.1.212:65535" },
    ]);
  });
});

describe("persistence probe", () => {
  it("sticky: all requests on one server, named by the client's template", () => {
    expect(judge("sticky", "sticky", 6)).toMatchObject({
      ok: true,
      message: "All 6 requests from client went to rs3; director's template 198.51.100.100:0 → 198.51.100.50:80 → 10.0.1.212:8000 (ASSURED, 04:51 left).",
      spread: { counts: { rs3: 6 }, failed: 0, total: 6 },
    });
  });

  it("a service without -p: the spread its requests took (the ipvs check names the missing -p)", () => {
    expect(judge("sticky", "not-persistent")).toMatchObject({
      ok: false,
      message:
        "The 4 requests from client to 198.51.100.50:80 went to several real servers (rs3 2, rs2 1, rs1 1): without a persistence template each new connection is scheduled on its own.",
    });
  });

  it("ipvs check: a -p given to the other service is named", () => {
    const saved = "-A -t 198.51.100.50:80 -s rr\n-a -t 198.51.100.50:80 -r 10.0.1.210:8000 -m -w 1\n-A -t 198.51.100.50:81 -s rr -p 300\n";
    const ipvs = (output: string) => {
      const [probe] = checkBlockSchema.parse([{ kind: "ipvs", node: "director", service: "{{vip}}:80", scheduler: "rr", persistent: true }]);
      return probeKind("ipvs").judge(renderProbe(probe!, ctx.vars), [{ exitCode: 0, output }], ctx);
    };
    expect(ipvs(saved).message).toBe("director: the -p went on TCP 198.51.100.50:81, not on TCP 198.51.100.50:80.");
    expect(ipvs(saved.replace(" -p 300", "")).message).toBe("director: virtual service TCP 198.51.100.50:80 is not persistent, expected -p.");
  });

  it("quiesced: the weight-0 server still gets the persistent client", () => {
    expect(judge("quiesced", "quiesced").message).toBe(
      "rs3 has weight 0 and still got all 4 requests from client: director's template 198.51.100.100:0 → 198.51.100.50:80 → 10.0.1.212:8000 (ASSURED, 04:42 left) holds the client there.",
    );
    expect(judge("moved", "quiesced")).toMatchObject({
      ok: false,
      message:
        "expire_quiescent_template is 0 on director: rs3 has weight 0 and still got all 4 requests from client, held there by its template 198.51.100.100:0 → 198.51.100.50:80 → 10.0.1.212:8000 (ASSURED, 04:42 left).",
    });
  });

  it("quiesced: another server at weight 0 is not the client's", () => {
    expect(judge("quiesced", "wrong-server")).toMatchObject({
      ok: false,
      message:
        "client's requests go to rs3 (weight 1), the server its template names: that is the server to quiesce (weight 0).",
    });
  });

  it("moved: off a weight-0 server with expire_quiescent_template, or off a removed one", () => {
    expect(judge("moved", "moved")).toMatchObject({
      ok: true,
      message: "client moved to rs2 (weight 1), off rs3 (weight 0); its template 198.51.100.100:0 → 198.51.100.50:80 → 10.0.1.211:8000 (ASSURED, 04:45 left).",
    });
    expect(judge("quiesced", "moved").message).toBe(
      "client left rs3 (weight 0) for rs2: expire_quiescent_template is 1 on director; this step shows what the default, 0, does.",
    );
    expect(judge("moved", "removed", 3).ok).toBe(true);
    expect(judge("quiesced", "removed", 3).message).toBe(
      "rs1 is no longer a real server of TCP 198.51.100.50:80: removing a server moves its persistent clients at once (the next step's way); here set its weight to 0 instead (`ipvsadm -a` adds it back).",
    );
  });

  it("moved: nothing drained", () => {
    expect(judge("moved", "sticky", 6).message).toBe(
      "No real server of TCP 198.51.100.50:80 is drained (every one has a weight above 0 and none was removed): nothing moved client off rs3.",
    );
  });

  it("speaks Chinese", () => {
    setLanguage("zh-CN");
    expect(judge("quiesced", "quiesced").message).toBe(
      "rs3 的权重是 0，却仍然收到了 client 的全部 4 个请求：director 上的模板 198.51.100.100:0 → 198.51.100.50:80 → 10.0.1.212:8000（ASSURED，还剩 04:42）把客户端固定在那里。",
    );
  });
});
