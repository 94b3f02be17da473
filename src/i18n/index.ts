/**
 * Every learner-facing sentence of the program, by key, in each language (i18next: plural
 * rules per language, {{variable}} interpolation, fallback to English for a key a catalogue
 * lacks). The language is set once per process from --lang, LVS_LAB_LANG or the locale
 * (cli/main.ts); English is the default, so pure code and tests read English.
 */
import i18next, { type TOptions } from "i18next";
import { en } from "./en.js";
import { zhCN } from "./zh-CN.js";

export type Catalogue = typeof en;

/** "ui.keys.check"; plural keys (hint_one, hint_other) are asked for without their suffix. */
type Leaves<T, P extends string = ""> = {
  [K in keyof T & string]: T[K] extends string ? `${P}${K extends `${infer B}_${"one" | "other"}` ? B : K}` : Leaves<T[K], `${P}${K}.`>;
}[keyof T & string];
export type MessageKey = Leaves<Catalogue>;

/** A translation: any subset of the English keys (plural forms as its language has them). */
export type PartialCatalogue = { [K in keyof Catalogue]?: Record<string, unknown> };

export const CATALOGUES: Record<string, { messages: PartialCatalogue; complete: boolean }> = {
  en: { messages: en, complete: true },
  "zh-CN": { messages: zhCN, complete: true },
};

const i18n = i18next.createInstance();
void i18n.init({
  lng: "en",
  fallbackLng: "en",
  resources: Object.fromEntries(Object.entries(CATALOGUES).map(([lang, c]) => [lang, { translation: c.messages }])),
  // Messages are terminal text, never HTML; and sentences may contain ':' freely.
  interpolation: { escapeValue: false },
  nsSeparator: false,
  initAsync: false,
});

let current = "en";

/** Uses `lang` when there is a catalogue for it ("zh-CN", or "zh" for zh-CN), else English. */
export function setLanguage(lang: string): string {
  current = supportedLanguage(lang);
  return current;
}

export function supportedLanguage(lang: string): string {
  if (CATALOGUES[lang]) return lang;
  return Object.keys(CATALOGUES).find((l) => l.split("-")[0] === lang.split("-")[0]) ?? "en";
}

export function language(): string {
  return current;
}

/**
 * Runs `fn` with `lang` as the current language: the process's one language is swapped for
 * the call and put back after it. Safe only because `fn` is synchronous (a probe's judge,
 * for the English words selftest matches): nothing else can run, and so read the swapped
 * language, before it returns. An async `fn` would let every other sentence said meanwhile
 * come out in `lang`, so its type refuses a promise and a thenable result throws. (The next
 * step: judges given a fixed-language t, i18next's getFixedT, through their context.)
 */
export function inLanguage<T>(lang: string, fn: () => T extends PromiseLike<unknown> ? never : T): T {
  const saved = current;
  current = supportedLanguage(lang);
  try {
    const result = fn();
    if (typeof (result as { then?: unknown } | null)?.then === "function") throw new Error("inLanguage runs synchronous functions only");
    return result;
  } finally {
    current = saved;
  }
}

/** The sentence for `key` in the current language (or `lang`), variables filled in. */
export function t(key: MessageKey, vars: TOptions = {}, lang = current): string {
  return i18n.t(key, { ...vars, lng: lang }) as string;
}

/** Joins alternatives the way the language does: "1, 2 or 3" / "1、2 或 3". */
export function alternatives(values: string[], lang = current): string {
  if (values.length === 1) return values[0]!;
  return t("common.alternatives", { head: values.slice(0, -1).join(t("common.listSeparator", {}, lang)), last: values.at(-1) }, lang);
}

/** Sentences one after another: a space after "." but none after a full-width "。" or "：". */
export function sentences(...parts: string[]): string {
  return parts.reduce((all, part) => (all === "" ? part : /[。：！？）]$/.test(all) ? all + part : `${all} ${part}`), "");
}
