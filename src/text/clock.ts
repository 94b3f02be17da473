/** Times as every screen writes them: the time of day, a stopwatch, a duration in words. */
import { t } from "../i18n/index.js";

/** The time of day of `ms` (hh:mm:ss, local time): when a check ran, as every screen shows it. */
export function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

/** Time running, as a stopwatch shows it: "0:07", "12:30". */
export function stopwatch(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** "7 s", "12 min", "1 h 5 min": how long a learner has been on a step. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("vm.duration.seconds", { n: s });
  const m = Math.floor(s / 60);
  return m < 60 ? t("vm.duration.minutes", { n: m }) : t("vm.duration.hours", { h: Math.floor(m / 60), m: m % 60 });
}
