/**
 * Lines (src/text/lines.ts) drawn with ink: each segment a <Text> in its style. The lesson
 * screen and `class watch` draw through these; colour only where the theme has it on.
 */
import { memo } from "react";
import { Box, Text } from "ink";
import type { Line, Seg } from "./lines.js";
import { useTheme, type Theme } from "./theme.js";

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
