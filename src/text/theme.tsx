/**
 * Colour is decoration only: every state also has a mark (✔ ✘ ▶ · ✚) or a word, so the
 * UI reads the same with NO_COLOR. Components ask the theme whether colour is on (ink's
 * chalk drops colours by itself; the theme also decides on extra marks such as `code`).
 */
import { createContext, useContext } from "react";

export const MARK = {
  passed: "✔",
  helped: "✚",
  failed: "✘",
  current: "▶",
  notYet: "·",
} as const;

export interface Theme {
  colour: boolean;
}

export function colourWanted(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  return Boolean(stream.isTTY) && env.TERM !== "dumb";
}

export const ThemeContext = createContext<Theme>({ colour: false });

export function useTheme(): Theme {
  return useContext(ThemeContext);
}

/** Colour props for ink's <Text>, empty without colour. */
export function tint(theme: Theme, color: string): { color?: string } {
  return theme.colour ? { color } : {};
}
