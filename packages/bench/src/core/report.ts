/** The pieces every printed report is made of: tables (text or markdown), targets, the rounds note, the generator warning. */

/** A target of the spec or the issue, as printed: `  description: value -> met`. */
export interface TargetResult {
  description: string;
  value: string;
  met: boolean;
}

/** Right-aligned columns separated by ` | `, with a rule under the header. */
export function formatTable(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => (cells[column] ?? '').length)),
  );
  const render = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ');
  return [render(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...body.map(render)];
}

/** A GitHub markdown table: the first column left-aligned, the others right-aligned as in formatTable. */
export function formatMarkdownTable(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  const render = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
  const rule = `| ${header.map((_, column) => (column === 0 ? ':--' : '--:')).join(' | ')} |`;
  return [render(header), rule, ...body.map(render)];
}

export function formatTargets(targets: readonly TargetResult[]): string[] {
  return targets.map((t) => `  ${t.description}: ${t.value} -> ${t.met ? 'met' : 'NOT MET'}`);
}

/** How the figures of a cell were made from its rounds. */
export function roundsNote(rounds: number): string {
  return rounds === 1 ? '1 round' : `median of ${rounds} rounds`;
}

/**
 * A warning for a cell whose load generator was nearly saturated (`cpuPercent` of one core at or above
 * `busyPercent`): its event loop, not the path under test, may be what limited the rate. `cell` says which one.
 */
export function busyGeneratorWarning(cpuPercent: number, busyPercent: number, cell: string): string[] {
  if (!(cpuPercent >= busyPercent)) return [];
  return [
    `warning: the generator used ${cpuPercent.toFixed(0)}% of a core ${cell}; ` +
      'that figure may be limited by the load generator.',
  ];
}

/** The last line with --json: every figure, for machines. */
export function jsonLine(benchmark: string, report: Record<string, unknown>): string {
  return JSON.stringify({ benchmark, ...report });
}
