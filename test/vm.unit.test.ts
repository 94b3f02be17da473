import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelCmdline, isOurQemu, parsePidFile, parseProcCmdline, processAlive, qemuArgv, qemuEscape, shellQuote, trialArgv, VM_NAME, type QemuOptions } from "../src/vm/qemu.js";
import { cacheRoot, currentRecipeHash, dataDiskName, isRecipeDirName, recipeHash, RECIPE_FILES, VM_SCRIPTS_DIR, vmPaths } from "../src/vm/recipe.js";
import { findSaved, machineOf } from "../src/vm/resume.js";
import { vmPreloadsModules } from "../src/vm/settings.js";

const ROOT = "/home/u/.cache/lvs-lab/vm";
const base: QemuOptions = {
  kernel: `${ROOT}/0123456789abcdef/vmlinuz`,
  initrd: `${ROOT}/0123456789abcdef/initrd.cpio`,
  rootDisk: `${ROOT}/0123456789abcdef/root.img`,
  disk: `${ROOT}/0123456789abcdef/docker-aaaaaaaaaaaaaaaa.img`,
  diskSnapshot: true,
  hostPort: 23751,
  memoryMiB: 6144,
  cpus: 2,
  accel: "tcg",
};

describe("recipe hash", () => {
  const files = [
    { name: "build.sh", content: "echo build" },
    { name: "init", content: "echo init" },
  ];

  it("is 16 hex digits, stable and independent of file order", () => {
    const h = recipeHash(files);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(recipeHash([...files].reverse())).toBe(h);
    expect(recipeHash(files.map((f) => ({ ...f, content: Buffer.from(f.content) })))).toBe(h);
  });

  it("changes when any content or name changes", () => {
    const h = recipeHash(files);
    expect(recipeHash([files[0]!, { name: "init", content: "echo init " }])).not.toBe(h);
    expect(recipeHash([files[0]!, { name: "init2", content: "echo init" }])).not.toBe(h);
    // moving bytes between files must not collide
    expect(recipeHash([{ name: "build.sh", content: "echo buildecho" }, { name: "init", content: " init" }])).not.toBe(h);
  });

  it("covers the real vm/ scripts", () => {
    expect(RECIPE_FILES).toEqual(["build.sh", "init"]);
    expect(currentRecipeHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(isRecipeDirName(currentRecipeHash())).toBe(true);
    expect(isRecipeDirName("run")).toBe(false);
  });
});

describe("cache layout", () => {
  it("follows XDG_CACHE_HOME when absolute, else ~/.cache", () => {
    expect(cacheRoot({ XDG_CACHE_HOME: "/x/cache" }, "/home/u")).toBe("/x/cache/lvs-lab/vm");
    expect(cacheRoot({ XDG_CACHE_HOME: "relative" }, "/home/u")).toBe("/home/u/.cache/lvs-lab/vm");
    expect(cacheRoot({}, "/home/u")).toBe("/home/u/.cache/lvs-lab/vm");
  });

  it("keeps build output per recipe and run files together", () => {
    const p = vmPaths(ROOT, "0123456789abcdef");
    expect(p.kernel).toBe(`${ROOT}/0123456789abcdef/vmlinuz`);
    expect(p.pidFile).toBe(`${ROOT}/run/qemu.pid`);
    expect(p.stateFile).toBe(`${ROOT}/run/state.json`);
  });

  it("keys the data disk by image id and ref", () => {
    const a = dataDiskName("sha256:aaa", "lvs-lab/lab:1");
    expect(a).toMatch(/^docker-[0-9a-f]{16}\.img$/);
    expect(dataDiskName("sha256:aaa", "lvs-lab/lab:1")).toBe(a);
    expect(dataDiskName("sha256:bbb", "lvs-lab/lab:1")).not.toBe(a);
    expect(dataDiskName("sha256:aaa", "lvs-lab/lab:2")).not.toBe(a);
  });
});

describe("qemu argv", () => {
  it("names the VM, uses single-threaded TCG and forwards only on loopback", () => {
    const argv = qemuArgv(base);
    expect(argv.slice(0, 2)).toEqual(["-name", VM_NAME]);
    expect(argv).toContain("tcg,thread=single");
    expect(argv).not.toContain("kvm");
    const netdev = argv[argv.indexOf("-netdev") + 1]!;
    expect(netdev).toBe("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:23751-:2375");
    expect(argv[argv.indexOf("-m") + 1]).toBe("6144");
    expect(argv).toContain("-no-reboot");
  });

  const drives = (argv: string[]) => argv.flatMap((a, i) => (a === "-drive" ? [argv[i + 1]!] : []));

  it("boots the root disk (first: /dev/vda) and the data disk copy-on-write, the data disk not in the preparation boot", () => {
    const [root, data] = drives(qemuArgv(base));
    expect(root).toBe(`file=${ROOT}/0123456789abcdef/root.img,format=raw,if=virtio,cache=unsafe,snapshot=on`);
    expect(data).toMatch(/docker-a+\.img,.*,snapshot=on$/);
    const prep = qemuArgv({ ...base, diskSnapshot: false, prepareImage: "lvs-lab/lab:abc" });
    expect(drives(prep)[0]).toMatch(/snapshot=on$/);
    expect(drives(prep)[1]).not.toMatch(/snapshot/);
    expect(prep[prep.indexOf("-append") + 1]).toContain("lvslab.prepare=lvs-lab/lab:abc");
    expect(drives(qemuArgv({ ...base, disk: undefined }))).toEqual([root]);
  });

  it("lets the guest hand freed pages back (free page reporting)", () => {
    expect(qemuArgv(base)).toContain("virtio-balloon-pci,free-page-reporting=on");
  });

  it("escapes commas in file names", () => {
    expect(qemuEscape("/a,b/c")).toBe("/a,,b/c");
    expect(drives(qemuArgv({ ...base, disk: "/tmp/x,y.img" }))[1]).toMatch(/^file=\/tmp\/x,,y\.img,format=raw/);
  });

  it("kernel command line: mitigations off only under TCG; refuses odd refs", () => {
    expect(kernelCmdline({ accel: "tcg" })).toBe("console=ttyS0 rdinit=/init panic=1 quiet mitigations=off");
    expect(kernelCmdline({ accel: "kvm" })).not.toContain("mitigations");
    expect(() => kernelCmdline({ accel: "tcg", prepareImage: "a b" })).toThrow();
    expect(() => kernelCmdline({ accel: "tcg", prepareImage: "x;reboot" })).toThrow();
  });

  it("kernel command line: lvslab.preload=0 only when the LVS modules are to stay unloaded (LVS_LAB_VM_PRELOAD=0)", () => {
    expect(kernelCmdline({ accel: "kvm", preloadModules: false })).toBe("console=ttyS0 rdinit=/init panic=1 quiet lvslab.preload=0");
    expect(kernelCmdline({ accel: "kvm", preloadModules: true })).not.toContain("preload");
    expect(vmPreloadsModules({ LVS_LAB_VM_PRELOAD: "0" })).toBe(false);
    expect(vmPreloadsModules({ LVS_LAB_VM_PRELOAD: "1" })).toBe(true);
    expect(vmPreloadsModules({})).toBe(true);
  });

  it("KVM with the host's CPU; TCG with a bounded code cache", () => {
    const argv = qemuArgv({ ...base, accel: "kvm" });
    expect(argv[argv.indexOf("-accel") + 1]).toBe("kvm");
    expect(argv[argv.indexOf("-cpu") + 1]).toBe("host");
    const tcg = qemuArgv({ ...base, tbSizeMiB: 256 });
    expect(tcg[tcg.indexOf("-accel") + 1]).toBe("tcg,thread=single,tb-size=256");
  });

  it("the accelerator trial: the VM's kernel, echo as init, never taken for the VM", () => {
    const argv = trialArgv({ kernel: base.kernel, initrd: base.initrd, accel: "kvm", memoryMiB: 1536 }, "MARK");
    expect(argv[argv.indexOf("-append") + 1]).toBe("console=ttyS0 rdinit=/bin/echo panic=-1 quiet -- MARK");
    expect(argv).toContain("-no-reboot");
    expect(argv.slice(argv.indexOf("-accel"), argv.indexOf("-accel") + 4)).toEqual(["-accel", "kvm", "-cpu", "host"]);
    expect(isOurQemu(["/usr/bin/qemu-system-x86_64", ...argv], ROOT)).toBe(false);
  });
});

describe("pid file verification", () => {
  const ours = ["/usr/bin/qemu-system-x86_64", ...qemuArgv(base)];

  it("recognises our QEMU", () => {
    expect(isOurQemu(ours, ROOT)).toBe(true);
    expect(isOurQemu(ours, `${ROOT}/`)).toBe(true);
  });

  it("rejects other processes a recycled pid may belong to", () => {
    expect(isOurQemu(undefined, ROOT)).toBe(false);
    expect(isOurQemu([], ROOT)).toBe(false);
    expect(isOurQemu(["/usr/bin/node", ...ours.slice(1)], ROOT)).toBe(false); // not qemu
    expect(isOurQemu(ours.map((a) => (a === VM_NAME ? "other-vm" : a)), ROOT)).toBe(false); // another VM
    expect(isOurQemu(ours, "/home/someone-else/.cache/lvs-lab/vm")).toBe(false); // another user's cache
    expect(isOurQemu(ours, "/home/u/.cache/lvs-lab/v")).toBe(false); // prefix, not parent
    expect(isOurQemu(["qemu-system-x86_64", "-name"], ROOT)).toBe(false);
  });

  it("parses /proc cmdline and pid files strictly", () => {
    expect(parseProcCmdline(Buffer.from("qemu\0-name\0lvs-lab-vm\0"))).toEqual(["qemu", "-name", "lvs-lab-vm"]);
    expect(parsePidFile("1234\n")).toBe(1234);
    for (const bad of [undefined, "", "0", "-1", "12a", "1 2", "99999999999"]) expect(parsePidFile(bad)).toBeUndefined();
  });

  it("knows live from dead processes", () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2 ** 22 + 12345)).toBe(false);
  });
});

describe("vm/run.sh launcher", () => {
  const runSh = join(VM_SCRIPTS_DIR, "run.sh");

  function launch() {
    const child = spawn("sh", [runSh, "/dev/null", "sleep", "60"], { stdio: ["pipe", "pipe", "inherit"] });
    const pid = new Promise<number>((resolve) => child.stdout.once("data", (b: Buffer) => resolve(Number(b.toString().trim()))));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    return { child, pid, exited };
  }

  async function gone(pid: number, ms = 5000) {
    const end = Date.now() + ms;
    while (processAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return !processAlive(pid);
  }

  it("kills the guarded process when its owner goes away without saying detach", async () => {
    const { child, pid, exited } = launch();
    const p = await pid;
    expect(processAlive(p)).toBe(true);
    child.stdin.end(); // what the OS does when lvs-lab dies, however it dies
    await exited;
    expect(await gone(p)).toBe(true);
  });

  it("leaves it running after detach", async () => {
    const { child, pid, exited } = launch();
    const p = await pid;
    child.stdin.end("detach\n");
    await exited;
    await new Promise((r) => setTimeout(r, 200));
    expect(processAlive(p)).toBe(true);
    process.kill(p, "SIGKILL");
  });
});

describe("resume: the saved VM's command line and what may be restored", () => {
  const drives = (argv: string[]) => argv.flatMap((a, i) => (a === "-drive" ? [argv[i + 1]!] : []));
  const overlays = { root: "/c/resume-x/root.qcow2", data: "/c/resume-x/data.qcow2" };

  it("the saved boot writes into its overlays; a restore reads them copy-on-write and loads the state", () => {
    const saved = qemuArgv({ ...base, overlays: { ...overlays, snapshot: false }, qmpSocket: "/c/run/qmp.sock", clockPipe: "/c/run/clock" });
    expect(drives(saved)).toEqual(["file=/c/resume-x/root.qcow2,format=qcow2,if=virtio,cache=unsafe", "file=/c/resume-x/data.qcow2,format=qcow2,if=virtio,cache=unsafe"]);
    expect(saved).toContain("unix:/c/run/qmp.sock,server=on,wait=off");
    expect(saved).toContain("pipe,id=clock,path=/c/run/clock");
    expect(saved).toContain("virtserialport,chardev=clock,name=lvs-lab.clock");
    expect(saved).not.toContain("-incoming");
    const restored = qemuArgv({ ...base, overlays: { ...overlays, snapshot: true }, incoming: "/c/resume-x/ram.state" });
    expect(drives(restored).every((d) => d.endsWith(",snapshot=on"))).toBe(true);
    expect(restored.slice(-2)).toEqual(["-incoming", "fd:3"]);
  });

  it("quotes any file name for the shell QEMU runs the save's exec: URI with", () => {
    expect(shellQuote("/a b/c")).toBe("'/a b/c'");
    expect(shellQuote("x'; reboot; '")).toBe(`'x'\\''; reboot; '\\'''`);
  });

  const expected = { recipe: "0123456789abcdef", dataDisk: "docker-aaaaaaaaaaaaaaaa.img", qemu: "QEMU emulator version 7.2.22", machine: "-m 1536" };
  function savedDir(meta: object | string | undefined, sizes: Record<string, number> = { "ram.state": 10, "root.qcow2": 4, "data.qcow2": 6 }): string {
    const dir = mkdtempSync(join(tmpdir(), "lvs-lab-resume-"));
    for (const [name, size] of Object.entries(sizes)) writeFileSync(join(dir, name), Buffer.alloc(size));
    if (meta !== undefined) writeFileSync(join(dir, "meta.json"), typeof meta === "string" ? meta : JSON.stringify(meta));
    return dir;
  }
  const good = { ...expected, savedAt: "2026-12-07T20:00:00Z", bytes: { ram: 10, root: 4, data: 6 } };

  it("restores a state saved by this recipe, data disk, QEMU and machine, with its files whole", () => {
    expect(findSaved("/nonexistent/resume-x", expected)).toEqual({ kind: "none" });
    const dir = savedDir(good);
    expect(findSaved(dir, expected)).toMatchObject({ kind: "saved", dir, meta: good });
  });

  it("a state saved by another recipe, QEMU or machine is stale", () => {
    expect(findSaved(savedDir({ ...good, recipe: "fedcba9876543210" }), expected)).toMatchObject({ kind: "stale", why: "saved with another recipe" });
    expect(findSaved(savedDir({ ...good, qemu: "QEMU emulator version 8.2.0" }), expected)).toMatchObject({ kind: "stale", why: "saved with another qemu" });
    expect(findSaved(savedDir({ ...good, machine: "-m 2560" }), expected)).toMatchObject({ kind: "stale", why: "saved with another machine" });
    expect(findSaved(savedDir({ ...good, dataDisk: "docker-bbbbbbbbbbbbbbbb.img" }), expected)).toMatchObject({ kind: "stale", why: "saved with another data disk" });
  });

  it("a state whose files are missing, cut short or undescribed is damaged", () => {
    expect(findSaved(savedDir(undefined), expected)).toMatchObject({ kind: "corrupt", why: "its meta.json is missing or unreadable" });
    expect(findSaved(savedDir("{not json"), expected)).toMatchObject({ kind: "corrupt", why: "its meta.json is missing or unreadable" });
    expect(findSaved(savedDir(good, { "ram.state": 5, "root.qcow2": 4, "data.qcow2": 6 }), expected)).toMatchObject({ kind: "corrupt", why: "ram.state has 5 bytes, 10 were saved" });
    expect(findSaved(savedDir(good, { "ram.state": 10, "root.qcow2": 4 }), expected)).toMatchObject({ kind: "corrupt", why: "data.qcow2 is missing" });
  });

  it("the machine leaves out the port and this cache's paths, and changes with the memory", () => {
    const p = vmPaths(ROOT, "0123456789abcdef");
    const machine = machineOf(p, "tcg");
    expect(machine).not.toContain(ROOT);
    expect(machine).toContain("hostfwd=tcp:127.0.0.1:0-:2375");
    expect(machineOf(vmPaths("/elsewhere", "0123456789abcdef"), "tcg")).toBe(machine);
    expect(machineOf(p, "kvm")).not.toBe(machine);
  });
});
