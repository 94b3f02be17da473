import { describe, expect, it } from "vitest";
import { hostRouteObstacle, upstreamVersion, type HostFacts } from "../src/vm/disk-on-host.js";

const ready: HostFacts = {
  uid: 0,
  missingTools: [],
  hostDockerd: "Docker version 20.10.24+dfsg1, build 5d6db84\n",
  vmDocker: "20.10.24+dfsg1-1+deb12u1+b6",
  off: false,
};

describe("making the VM's data disk on this host", () => {
  it("reads the upstream version from dockerd --version and from the Debian package version", () => {
    expect(upstreamVersion(ready.hostDockerd)).toBe("20.10.24");
    expect(upstreamVersion(ready.vmDocker)).toBe("20.10.24");
    expect(upstreamVersion("Docker version 27.3.1, build ce12230")).toBe("27.3.1");
    expect(upstreamVersion(undefined)).toBeUndefined();
  });

  it("is chosen as root with the tools and a dockerd of the VM's version", () => {
    expect(hostRouteObstacle(ready)).toBeUndefined();
  });

  it("is refused, with the reason, otherwise", () => {
    expect(hostRouteObstacle({ ...ready, off: true })).toBe("LVS_LAB_VM_DISK_ON_HOST=0");
    expect(hostRouteObstacle({ ...ready, uid: 1000 })).toBe("mounting the disk needs root");
    expect(hostRouteObstacle({ ...ready, missingTools: ["dockerd", "mountpoint"] })).toBe("dockerd, mountpoint not found");
    // Docker's on-disk layout is its version's: a newer host engine could write what the VM's cannot read.
    expect(hostRouteObstacle({ ...ready, hostDockerd: "Docker version 27.3.1, build ce12230" })).toBe("this host's dockerd is 27.3.1, the VM's 20.10.24");
    expect(hostRouteObstacle({ ...ready, vmDocker: undefined })).toBe("the Docker versions could not be compared");
  });
});
