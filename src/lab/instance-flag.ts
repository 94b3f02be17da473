/**
 * Commands lvs-lab prints for the learner to type must work as printed: a command without
 * --name finds the only instance running, so it names the instance whenever that is not
 * enough (another instance runs, or this one is not the lab's default name).
 */

/** " --name X", or "" where the bare command finds this instance. */
export function instanceFlag(name: string, lab: string, running: readonly string[]): string {
  const others = running.some((n) => n !== name);
  return name !== lab || others ? ` --name ${name}` : "";
}

/** `lvs-lab <command> …` quoted in code spans of lesson text, up to its closing backtick. */
const QUOTED_COMMAND = /`(lvs-lab (?!class |list\b|doctor\b|image\b|bundle\b|vm\b|lint\b)[^`]*?)`/g;

/**
 * Lesson text with the flag added to each quoted command about the instance
 * (`lvs-lab shell director` → `lvs-lab shell director --name web`); commands about no
 * instance (list, doctor, class …) and ones that name it already are left alone.
 */
export function nameQuotedCommands(text: string, flag: string): string {
  if (!flag) return text;
  return text.replace(QUOTED_COMMAND, (whole, command: string) => (/\s--name\b/.test(command) ? whole : `\`${command}${flag}\``));
}
