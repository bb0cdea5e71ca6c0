/**
 * The order in which a comparison is measured, the same in both benchmarks: every cell (a concurrency, an
 * operation at a concurrency...) in every round, floor against warren. Which implementation opens alternates
 * from one step to the next, so neither always meets a broker the other has just warmed; and within a step,
 * after each warms up, their windows are cut into slices that alternate (ABBA...), so that whatever else the
 * machine or the broker does meanwhile falls on both alike.
 */

/** The two sides of every comparison: the bare floor and the warren code under test. */
export type Implementation = 'floor' | 'warren';
export const IMPLEMENTATIONS: readonly Implementation[] = ['floor', 'warren'];

/** One cell in one round: both implementations, `order[0]` warming up and starting first. */
export interface Step<Cell> {
  round: number;
  cell: Cell;
  order: readonly Implementation[];
  /** For the progress line: `round 1/3: <cell>, floor first, then warren`. */
  description: string;
}

// Short enough that a burst of load from a neighbour on the machine lands on both implementations, long
// enough that draining the workers between slices (one round trip) is noise.
const SLICE_SECONDS = 1;

/** Every cell of every round, in the order measured; `describe` names a cell in the progress lines. */
export function alternatingSchedule<Cell>(
  rounds: number,
  cells: readonly Cell[],
  describe: (cell: Cell) => string,
): Step<Cell>[] {
  const steps: Step<Cell>[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const cell of cells) {
      const order: Implementation[] = steps.length % 2 === 0 ? ['floor', 'warren'] : ['warren', 'floor'];
      const description = `round ${round}/${rounds}: ${describe(cell)}, ${order.join(' first, then ')}`;
      steps.push({ round, cell, order, description });
    }
  }
  return steps;
}

/** Cuts a window of `seconds` into whole slices of about a second, at least `minSlices` of them. */
export function slicing(seconds: number, minSlices: number): { slices: number; sliceSeconds: number } {
  const slices = Math.max(minSlices, Math.round(seconds / SLICE_SECONDS));
  return { slices, sliceSeconds: seconds / slices };
}

/** Warms each implementation up in `order`, then runs `slices` slices of each, the order reversing every slice. */
export async function runAlternatingSlices(
  order: readonly Implementation[],
  slices: number,
  warmUp: (implementation: Implementation) => Promise<unknown>,
  runSlice: (implementation: Implementation) => Promise<unknown>,
): Promise<void> {
  for (const implementation of order) await warmUp(implementation);
  for (let slice = 0; slice < slices; slice++) {
    // ABBA: each implementation opens half the slices.
    for (const implementation of slice % 2 === 0 ? order : [...order].reverse()) await runSlice(implementation);
  }
}
