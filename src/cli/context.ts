/**
 * What every command shares: the global options, and how a printed command names its
 * instance. Engines and instances are found in src/lab/locate.ts.
 */

export interface GlobalOptions {
  vm?: boolean;
  json?: boolean;
  debug?: boolean;
}

/**
 * " --name X" for commands printed for the learner, where a bare command would not find this
 * instance. The other instances come from the records `start` keeps, not from the engines:
 * asking the VM's engine takes seconds, and every check prints such a command. A record a
 * crash left behind only adds a --name that still works.
 */
export async function nameFlagFor(name: string, lab: string): Promise<string> {
  const [{ instanceFlag }, { recordedInstanceNames }] = await Promise.all([import("../lab/instance-flag.js"), import("../state/instances.js")]);
  return instanceFlag(name, lab, await recordedInstanceNames());
}
