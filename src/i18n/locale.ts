/** The language to use: --lang, else LVS_LAB_LANG, else the locale (LANG "zh_CN.UTF-8" → "zh-CN"), else English. */
export function pickLanguage(explicit?: string): string {
  const raw = explicit ?? process.env.LVS_LAB_LANG ?? process.env.LC_ALL ?? process.env.LANG ?? "en";
  const m = /^([a-z]{2})(?:[_-]([A-Za-z]{2}))?/.exec(raw);
  if (!m || m[1] === "en" || raw === "C" || raw.startsWith("C.")) return "en";
  return m[2] ? `${m[1]}-${m[2].toUpperCase()}` : m[1]!;
}
