import { OrderTotalTooLargeError } from './errors';

/** What the total depends on: a line's quantity and unit price, in integer cents. */
export interface PricedLine {
  quantity: number;
  unitPriceCents: number;
}

function assertNonNegativeInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}

/**
 * The order total in cents: the sum of quantity × unit price over the lines,
 * in integer arithmetic. Throws OrderTotalTooLargeError when a product or the
 * sum leaves the safe-integer range (where floating point would round).
 */
export function orderTotalCents(lines: readonly PricedLine[]): number {
  let total = 0;
  for (const line of lines) {
    assertNonNegativeInteger(line.quantity, 'quantity');
    assertNonNegativeInteger(line.unitPriceCents, 'unitPriceCents');
    const lineTotal = line.quantity * line.unitPriceCents;
    if (!Number.isSafeInteger(lineTotal)) throw new OrderTotalTooLargeError();
    total += lineTotal;
    if (!Number.isSafeInteger(total)) throw new OrderTotalTooLargeError();
  }
  return total;
}
