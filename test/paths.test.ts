/**
 * Where lvs-lab keeps its cache (the VM above all): under sudo in the invoking user's home,
 * so that after `sudo lvs-lab vm up` that user's own `start` finds the VM.
 */
import { describe, expect, it } from "vitest";
import { cacheDir, homeInPasswd, invokingHome } from "../src/paths.js";
import { cacheRoot } from "../src/vm/recipe.js";

const PASSWD = ["root:x:0:0:root:/root:/bin/bash", "ann:x:1000:1000:Ann,,,:/home/ann:/bin/bash", "odd:x:1001:1001::relative:/bin/sh", ""].join("\n");
const rootHome = () => "/root";

describe("the invoking user's home", () => {
  it("reads a user's home from /etc/passwd; none for an unknown user or a relative home", () => {
    expect(homeInPasswd(PASSWD, "ann")).toBe("/home/ann");
    expect(homeInPasswd(PASSWD, "bob")).toBeUndefined();
    expect(homeInPasswd(PASSWD, "odd")).toBeUndefined();
  });

  it("root under sudo: the home of SUDO_USER", () => {
    expect(invokingHome({ SUDO_USER: "ann" }, 0, () => PASSWD, rootHome)).toBe("/home/ann");
  });

  it("root without sudo, `sudo -u root`, or a SUDO_USER not in /etc/passwd: this process's home", () => {
    expect(invokingHome({}, 0, () => PASSWD, rootHome)).toBe("/root");
    expect(invokingHome({ SUDO_USER: "root" }, 0, () => PASSWD, rootHome)).toBe("/root");
    expect(invokingHome({ SUDO_USER: "bob" }, 0, () => PASSWD, rootHome)).toBe("/root");
  });

  it("not root (sudo -u ann from another user): SUDO_USER does not move the cache", () => {
    expect(invokingHome({ SUDO_USER: "carl" }, 1000, () => PASSWD, () => "/home/ann")).toBe("/home/ann");
  });
});

describe("the cache directory", () => {
  it("an absolute XDG_CACHE_HOME wins, sudo or not; a relative one is ignored (XDG spec)", () => {
    expect(cacheDir({ XDG_CACHE_HOME: "/x/cache", SUDO_USER: "ann" }, "/home/ann")).toBe("/x/cache/lvs-lab");
    expect(cacheDir({ XDG_CACHE_HOME: "rel" }, "/home/ann")).toBe("/home/ann/.cache/lvs-lab");
  });

  it("the VM's cache under sudo is the one the same user finds without sudo", () => {
    const underSudo = cacheRoot({ SUDO_USER: "ann" }, invokingHome({ SUDO_USER: "ann" }, 0, () => PASSWD, rootHome));
    const asAnn = cacheRoot({}, invokingHome({}, 1000, () => PASSWD, () => "/home/ann"));
    expect(underSudo).toBe("/home/ann/.cache/lvs-lab/vm");
    expect(asAnn).toBe(underSudo);
  });
});
