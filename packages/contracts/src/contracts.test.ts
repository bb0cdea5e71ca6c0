import { createOrderBodySchema, ordersListByUser, updateUserBodySchema, usersCreate } from './index';

describe('shared contracts', () => {
  it('reject unknown fields, so nothing can be mass-assigned', () => {
    const parsed = usersCreate.request.safeParse({ name: 'Ada', email: 'ada@example.com', isAdmin: true });
    expect(parsed.success).toBe(false);
    const parsedOrder = createOrderBodySchema.safeParse({
      userId: '0190f3b8-6e1a-7c8e-9d2a-1b2c3d4e5f60',
      items: [{ sku: 'A-1', quantity: 1, unitPriceCents: 100 }],
      currency: 'EUR',
      totalCents: 1,
    });
    expect(parsedOrder.success).toBe(false);
  });

  it('refuse fractional money, zero quantities and lowercase currencies', () => {
    const base = { userId: '0190f3b8-6e1a-7c8e-9d2a-1b2c3d4e5f60', currency: 'EUR' };
    for (const item of [
      { sku: 'A', quantity: 1, unitPriceCents: 1.5 },
      { sku: 'A', quantity: 0, unitPriceCents: 1 },
    ]) {
      expect(createOrderBodySchema.safeParse({ ...base, items: [item] }).success).toBe(false);
    }
    expect(
      createOrderBodySchema.safeParse({
        ...base,
        currency: 'eur',
        items: [{ sku: 'A', quantity: 1, unitPriceCents: 1 }],
      }).success,
    ).toBe(false);
  });

  it('need at least one field in an update', () => {
    expect(updateUserBodySchema.safeParse({}).success).toBe(false);
    expect(updateUserBodySchema.safeParse({ name: 'Grace' }).success).toBe(true);
  });

  it('default and bound the page size', () => {
    const userId = '0190f3b8-6e1a-7c8e-9d2a-1b2c3d4e5f60';
    expect(ordersListByUser.request.parse({ userId })).toEqual({ userId, limit: 20 });
    expect(ordersListByUser.request.safeParse({ userId, limit: 101 }).success).toBe(false);
  });
});
