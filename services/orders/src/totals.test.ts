import { MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS, MAX_UNIT_PRICE_CENTS } from '@warren/contracts';
import { OrderTotalTooLargeError } from './errors';
import { orderTotalCents } from './totals';

describe('orderTotalCents', () => {
  it('sums quantity times unit price over the lines', () => {
    expect(
      orderTotalCents([
        { quantity: 2, unitPriceCents: 1250 },
        { quantity: 1, unitPriceCents: 99 },
        { quantity: 3, unitPriceCents: 0 },
      ]),
    ).toBe(2599);
  });

  it('is zero for free items and for no lines', () => {
    expect(orderTotalCents([{ quantity: 5, unitPriceCents: 0 }])).toBe(0);
    expect(orderTotalCents([])).toBe(0);
  });

  it('stays exact at the largest order the contracts allow', () => {
    const line = { quantity: MAX_ITEM_QUANTITY, unitPriceCents: MAX_UNIT_PRICE_CENTS };
    const total = orderTotalCents(Array.from({ length: MAX_ORDER_ITEMS }, () => line));
    expect(total).toBe(MAX_ORDER_ITEMS * MAX_ITEM_QUANTITY * MAX_UNIT_PRICE_CENTS);
    expect(Number.isSafeInteger(total)).toBe(true);
  });

  it('refuses a line whose product is not a safe integer', () => {
    expect(() => orderTotalCents([{ quantity: 2, unitPriceCents: Number.MAX_SAFE_INTEGER }])).toThrow(
      OrderTotalTooLargeError,
    );
  });

  it('refuses a sum that leaves the safe-integer range', () => {
    const half = Math.ceil(Number.MAX_SAFE_INTEGER / 2);
    const error = (() => {
      try {
        orderTotalCents([
          { quantity: 1, unitPriceCents: half },
          { quantity: 1, unitPriceCents: half },
        ]);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(OrderTotalTooLargeError);
    expect(error).toMatchObject({ code: 'invalid_argument', details: [{ path: 'items' }] });
  });

  it('rejects fractional or negative inputs instead of rounding them', () => {
    expect(() => orderTotalCents([{ quantity: 1.5, unitPriceCents: 100 }])).toThrow(RangeError);
    expect(() => orderTotalCents([{ quantity: 1, unitPriceCents: 0.1 }])).toThrow(RangeError);
    expect(() => orderTotalCents([{ quantity: 1, unitPriceCents: -1 }])).toThrow(RangeError);
    expect(() => orderTotalCents([{ quantity: Number.NaN, unitPriceCents: 1 }])).toThrow(RangeError);
  });
});
