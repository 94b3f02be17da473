/** The time of day of `ms` (hh:mm:ss, local time): when a check ran, as every screen shows it. */
export function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
