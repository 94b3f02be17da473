/** Drawing only: panes get their lines and sizes as props and are memoized. */
import { memo } from "react";
import { Box, Text } from "ink";
import type { Line, Seg } from "../text/lines.js";
import { truncate } from "./panes.js";
import { useTheme, type Theme } from "./theme.js";
import { displayWidth } from "../text/width.js";

function SegText({ seg, theme }: { seg: Seg; theme: Theme }) {
  const color = theme.colour ? (seg.code ? "cyan" : seg.heading ? "yellow" : seg.color) : undefined;
  return (
    <Text bold={seg.bold} italic={seg.italic} dimColor={seg.dim} color={color}>
      {seg.text}
    </Text>
  );
}

/** One wrapped line; never wraps again (the line fits by construction). */
export const LineView = memo(function LineView({ line }: { line: Line }) {
  const theme = useTheme();
  if (!line.segs.length) return <Text> </Text>;
  return (
    <Text wrap="truncate-end">
      {line.segs.map((s, i) => (
        <SegText key={i} seg={s} theme={theme} />
      ))}
    </Text>
  );
});

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

/** Full-width rows without a border (header, footer). */
export const Rows = memo(function Rows({ lines, width }: { lines: Line[]; width: number }) {
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((l, i) => (
        <Box key={i} width={width}>
          <LineView line={l} />
        </Box>
      ))}
    </Box>
  );
});

export const Spinner = memo(function Spinner({ frame }: { frame: number }) {
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  return <Text>{frames[frame % frames.length]}</Text>;
});
