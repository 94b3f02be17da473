/**
 * Kernel modules that are only missing (src/lab/modules.ts) and platforms without the VM
 * lane (src/lab/placement.ts): the report's parsing, what is loadable, the question, the
 * refusal without a terminal, verbatim in English and Chinese. The real thing, on a kernel
 * whose ip_vs is a module nobody loaded, is test/modules.vm.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.js";
import { setLanguage } from "../src/i18n/index.js";
import { parseKernelReport, PROBE_SCRIPT } from "../src/lab/kernel.js";
import { declinedError, loadableModules, loadCommand, moduleAction, moduleReportScript, modulesFor, parseModuleReport, reportModules } from "../src/lab/modules.js";
import { choosePlacement, hasVmLane, noVmLaneLine } from "../src/lab/placement.js";
import { FakeEngine } from "./helpers/fake-engine.js";

const IMAGE = "lvs-lab/lab:514fd0d32db1";
const NAT = modulesFor(["ip_vs"]);
const TUN = modulesFor(["ip_vs", "ipip"]);

/** What the report container prints on Debian 12's kernel booted without loading them (the VM with LVS_LAB_VM_PRELOAD=0). */
const STOCK_UNLOADED = ["kernel=6.1.0-50-amd64", ...TUN.map((m) => `${m}=module`)].join("\n");

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    return e as UserError;
  }
  throw new Error("nothing was thrown");
}

afterEach(() => setLanguage("en"));

describe("which modules a lab's requirements take", () => {
  it("ip_vs with the schedulers the labs use; ipip for tun", () => {
    expect(NAT).toEqual(["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_sed"]);
    expect(TUN).toEqual([...NAT, "ipip"]);
    expect(modulesFor([])).toEqual([]);
  });

  it("the report script names each module once and reads the host's /sys/module before modinfo", () => {
    const script = moduleReportScript(NAT);
    expect(script).toContain("for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sed; do");
    expect(script.indexOf("/sys/module")).toBeLessThan(script.indexOf("modinfo"));
  });
});

describe("the modules report", () => {
  it("parses loaded, module and absent; anything unreadable is absent", () => {
    const r = parseModuleReport("kernel=6.1.0-50-amd64\nip_vs=module\nip_vs_rr=loaded\nip_vs_wrr=absent\nip_vs_lc=garbage\nnoise line\n", NAT);
    expect(r).toEqual({
      kernel: "6.1.0-50-amd64",
      modules: { ip_vs: "module", ip_vs_rr: "loaded", ip_vs_wrr: "absent", ip_vs_lc: "absent", ip_vs_wlc: "absent", ip_vs_sed: "absent" },
    });
  });

  it("an empty answer (no /lib/modules, an old kernel) has nothing loadable", () => {
    expect(loadableModules(["ip_vs"], parseModuleReport("", NAT))).toBeUndefined();
  });

  it("only missing: every module of the requirement, in load order", () => {
    expect(loadableModules(["ip_vs"], parseModuleReport(STOCK_UNLOADED, NAT))).toEqual(NAT);
    expect(loadableModules(["ip_vs", "ipip"], parseModuleReport(STOCK_UNLOADED, TUN))).toEqual(TUN);
  });

  it("a scheduler the kernel lacks is left out; one already loaded is not loaded again", () => {
    const r = parseModuleReport("kernel=k\nip_vs=module\nip_vs_rr=loaded\nip_vs_wrr=module\nip_vs_lc=module\nip_vs_wlc=module\nip_vs_sed=absent", NAT);
    expect(loadableModules(["ip_vs"], r)).toEqual(["ip_vs", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc"]);
  });

  it("not in this kernel: nothing to load when one requirement is absent (tun without ipip goes to the VM)", () => {
    const r = parseModuleReport(STOCK_UNLOADED.replace("ipip=module", "ipip=absent"), TUN);
    expect(loadableModules(["ip_vs", "ipip"], r)).toBeUndefined();
    expect(loadableModules(["ip_vs"], r)).toEqual(NAT);
  });

  it("read through the engine: the fake kernel has ip_vs loaded, ipip not at all", async () => {
    const r = await reportModules(new FakeEngine({ modules: ["ip_vs"] }), IMAGE, TUN);
    expect(r?.modules.ip_vs).toBe("loaded");
    expect(r?.modules.ip_vs_sed).toBe("loaded");
    expect(r?.modules.ipip).toBe("absent");
  });
});

describe("the kernel check looks without loading", () => {
  it("no ipvsadm before /proc/net/ip_vs is seen (any ipvsadm call loads ip_vs), no `ip link` (tunl0 by name loads ipip)", () => {
    const gate = PROBE_SCRIPT.indexOf("test -e /proc/net/ip_vs || exit 0");
    expect(gate).toBeGreaterThan(0);
    expect(PROBE_SCRIPT.indexOf("ipvsadm")).toBeGreaterThan(gate);
    expect(PROBE_SCRIPT).not.toMatch(/ip link|ip -d link/);
    expect(PROBE_SCRIPT).toContain("/proc/net/dev");
    expect(parseKernelReport("ipvs=no\nipip=no\n")).toEqual({ ipvs: false, ipip: false, schedulers: [], detail: "" });
  });
});

describe("loading them: asked, --yes, or the command and exit 2", () => {
  const base = { labId: "nat", missing: ["ip_vs"], modules: NAT, kernel: "6.1.0-50-amd64", image: IMAGE };

  it("--yes loads without a question, at a terminal or not", () => {
    expect(moduleAction({ ...base, yes: true, interactive: false })).toEqual({ action: "load", modules: NAT });
    expect(moduleAction({ ...base, yes: true, interactive: true })).toEqual({ action: "load", modules: NAT });
  });

  it("at a terminal: one question naming the kernel and every module", () => {
    const a = moduleAction({ ...base, yes: false, interactive: true });
    expect(a.action).toBe("ask");
    expect(a.action === "ask" && a.question).toBe(
      "Lab nat needs ip_vs, which the kernel running Docker (6.1.0-50-amd64) has as a module but has not loaded. Load ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sed into that kernel now, from a one-shot container with CAP_SYS_MODULE and /lib/modules read-only? [Y/n] ",
    );
  });

  it("without a terminal and without --yes: refused (exit 2) with the command that loads them", () => {
    const a = moduleAction({ ...base, yes: false, interactive: false });
    expect(a.action).toBe("refuse");
    const e = a.action === "refuse" ? a.error : undefined;
    expect(e?.exitCode).toBe(2);
    expect(e?.message).toBe(
      "Lab nat needs ip_vs, which the kernel running Docker (6.1.0-50-amd64) has as a module but has not loaded; lvs-lab loads kernel modules only when asked to.",
    );
    expect(e?.hint).toBe(
      "Load them with `lvs-lab start nat --yes` (or `lvs-lab doctor --fix`), or by hand: `docker run --rm --network none --cap-add SYS_MODULE -v /lib/modules:/lib/modules:ro --entrypoint modprobe lvs-lab/lab:514fd0d32db1 -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sed`",
    );
  });

  it("two requirements: plural, both named", () => {
    const a = moduleAction({ ...base, labId: "tun", missing: ["ip_vs", "ipip"], modules: TUN, yes: false, interactive: false });
    expect(a.action === "refuse" && a.error.message).toBe(
      "Lab tun needs ip_vs and ipip, which the kernel running Docker (6.1.0-50-amd64) has as modules but has not loaded; lvs-lab loads kernel modules only when asked to.",
    );
  });

  it("in Chinese", () => {
    setLanguage("zh-CN");
    const a = moduleAction({ ...base, yes: false, interactive: false });
    expect(a.action === "refuse" && a.error.message).toBe(
      "实验 nat 需要 ip_vs：运行 Docker 的内核（6.1.0-50-amd64）里有相应的模块，但还没有加载；lvs-lab 只在你同意时才加载内核模块。",
    );
    expect(a.action === "refuse" && a.error.hint).toBe(`用 \`lvs-lab start nat --yes\`（或 \`lvs-lab doctor --fix\`）加载，或者手动运行：\`${loadCommand(IMAGE, NAT)}\``);
  });

  it("answered no: nothing loaded, exit 2; the VM offered only where there is one", () => {
    const linux = declinedError("nat", IMAGE, NAT, true);
    expect(linux.exitCode).toBe(2);
    expect(linux.message).toBe("Nothing was loaded, so lab nat cannot run on this engine.");
    expect(linux.hint).toBe(`Load them later with \`lvs-lab start nat --yes\` or \`${loadCommand(IMAGE, NAT)}\`, or run the lab in lvs-lab's VM: \`lvs-lab start nat --vm\``);
    expect(declinedError("nat", IMAGE, NAT, false).hint).toBe(`Load them later with \`lvs-lab start nat --yes\` or \`${loadCommand(IMAGE, NAT)}\``);
  });
});

describe("platforms without the VM lane", () => {
  it("only Linux has lvs-lab's VM", () => {
    expect(hasVmLane("linux")).toBe(true);
    expect(hasVmLane("darwin")).toBe(false);
    expect(hasVmLane("win32")).toBe(false);
  });

  it("macOS: a kernel without the modules is refused in one line that points at the engine's own VM or a Linux engine", () => {
    const e = thrown(() => choosePlacement({ labId: "dr", missing: ["ip_vs"], hostKernel: "6.10.14-linuxkit", platform: "darwin" }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("Lab dr needs the kernel module ip_vs, which the kernel running Docker (6.10.14-linuxkit) does not have.");
    expect(e.hint).toBe(
      "lvs-lab's VM runs on Linux only, not on macOS: load the modules in your Docker engine's own VM (`lvs-lab start <lab>` offers that where its kernel has them), or use a Docker engine on Linux.",
    );
  });

  it("Windows: --vm is refused in that line; a kernel with the modules needs no VM anywhere", () => {
    expect(thrown(() => choosePlacement({ labId: "nat", missing: [], hostKernel: "k", vm: true, platform: "win32" })).message).toBe(noVmLaneLine("win32"));
    expect(noVmLaneLine("win32")).toContain("not on Windows:");
    expect(choosePlacement({ labId: "nat", missing: [], hostKernel: "k", platform: "darwin" })).toEqual({ where: "host" });
  });

  it("in Chinese", () => {
    setLanguage("zh-CN");
    expect(noVmLaneLine("darwin")).toBe(
      "lvs-lab 的虚拟机只能在 Linux 上运行，不支持 macOS：请在你的 Docker 引擎自己的虚拟机里加载这些模块（只要它的内核里有，`lvs-lab start <lab>` 会提出帮你加载），或者使用 Linux 上的 Docker 引擎。",
    );
  });
});
