/** Drawing only: panes get their lines and sizes as props and are memoized. */
import { memo } from "react";
import { Box, Text } from "ink";
import { LineView } from "../text/draw.js";
import type { Line } from "../text/lines.js";
import { truncate } from "./panes.js";
import { useTheme } from "../text/theme.js";
import { displayWidth } from "../text/width.js";

export interface PanelProps {
  title: string;
  /** Text on the right of the top border (scroll position, status). */
  right?: string;
  width: number;
  /** Total height including both borders. */
  height: number;
  lines: Line[];
  offset?: number;
  focus?: boolean;
}

/** A box drawn with text borders, so its size is exact at any width. */
export const Panel = memo(function Panel({ title, right, width, height, lines, offset = 0, focus }: PanelProps) {
  const theme = useTheme();
  const inner = Math.max(1, width - 2);
  const border = theme.colour ? (focus ? "cyan" : "gray") : undefined;
  const t = truncate(` ${title} `, Math.max(0, inner - 2));
  const r = right ? truncate(` ${right} `, Math.max(0, inner - 2 - displayWidth(t) - 1)) : "";
  const fill = Math.max(0, inner - 1 - displayWidth(t) - displayWidth(r));
  const rows = Math.max(0, height - 2);
  const shown = lines.slice(offset, offset + rows);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text color={border}>┌─</Text>
        <Text bold>{t}</Text>
        <Text color={border}>{"─".repeat(fill)}</Text>
        <Text dimColor={Boolean(theme.colour)}>{r}</Text>
        <Text color={border}>┐</Text>
      </Text>
      {Array.from({ length: rows }, (_, i) => (
        <Box key={i} width={width}>
          <Text color={border}>│</Text>
          <Box width={inner}>{shown[i] ? <LineView line={shown[i]!} /> : <Text> </Text>}</Box>
          <Text color={border}>│</Text>
        </Box>
      ))}
      <Text color={border}>{"└" + "─".repeat(inner) + "┘"}</Text>
    </Box>
  );
});

export const Spinner = memo(function Spinner({ frame }: { frame: number }) {
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  return <Text>{frames[frame % frames.length]}</Text>;
});
