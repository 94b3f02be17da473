/** The class server hands the offline bundle to learners holding the join code, and to nobody else. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClassServer, type ClassServer } from "../src/class/server.js";
import { DNAT } from "./helpers/class.js";
import { http, post } from "./helpers/http.js";

let dir: string;
let withBundle: ClassServer;
let without: ClassServer;
const content = "manifest.json stands in for a real tar here\n".repeat(1000);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lvs-class-bundle-"));
  await writeFile(join(dir, "b.tar"), content);
  withBundle = await startClassServer({ dir: join(dir, "a"), labs: [DNAT], port: 0, bind: "127.0.0.1", bundle: join(dir, "b.tar") });
  without = await startClassServer({ dir: join(dir, "b"), labs: [DNAT], port: 0, bind: "127.0.0.1" });
});
afterAll(async () => {
  await withBundle.close();
  await without.close();
  await rm(dir, { recursive: true, force: true });
});

describe("GET /api/bundle", () => {
  it("sends the bundle for the join code (any case, with or without the dash) or a learner token", async () => {
    const byCode = await http(`${withBundle.url}/api/bundle?code=${withBundle.joinCode.toLowerCase().replace("-", "")}`);
    expect(byCode.status).toBe(200);
    expect(byCode.headers["content-type"]).toBe("application/x-tar");
    expect(byCode.headers["content-length"]).toBe(String(content.length));
    expect(byCode.text).toBe(content);
    expect((await http(`${withBundle.url}/api/bundle`, { headers: { "x-join-code": withBundle.joinCode } })).status).toBe(200);
    const token = (await post(`${withBundle.url}/api/join`, { code: withBundle.joinCode, name: "ann" })).json.token as string;
    expect((await http(`${withBundle.url}/api/bundle`, { token })).text).toBe(content);
  });

  it("refuses without the code, with a wrong one, or with the instructor's token", async () => {
    expect((await http(`${withBundle.url}/api/bundle`)).status).toBe(401);
    const wrong = await http(`${withBundle.url}/api/bundle?code=AAAA-AAAA`);
    expect([wrong.status, wrong.json]).toEqual([401, { error: "the join code is not this class's" }]);
    expect((await http(`${withBundle.url}/api/bundle`, { token: withBundle.instructorToken })).status).toBe(401);
  });

  it("says so when the server offers no bundle", async () => {
    const r = await http(`${without.url}/api/bundle?code=${without.joinCode}`);
    expect([r.status, r.json]).toEqual([404, { error: "this class server offers no bundle (start it with `class serve --bundle FILE`)" }]);
  });
});
