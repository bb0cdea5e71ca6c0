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

  it('keep any Unicode in a name but refuse NUL, which PostgreSQL text cannot store', () => {
    const email = 'ada@example.com';
    for (const name of ['Zoë 🚀', 'مرحبا بالعالم', 'e\u0301\u0302', "Robert'); DROP TABLE users; --", '100%_\\']) {
      expect(usersCreate.request.parse({ name, email }).name).toBe(name);
    }
    expect(usersCreate.request.safeParse({ name: 'Ada\u0000', email }).success).toBe(false);
    expect(updateUserBodySchema.safeParse({ name: '\u0000' }).success).toBe(false);
    // A character outside the BMP is a surrogate pair, kept; half of one is refused.
    expect(usersCreate.request.parse({ name: '\ud83d\ude80', email }).name).toBe('🚀');
    for (const name of ['a\ud800b', 'a\udc00', '\ude80\ud83d']) {
      expect(usersCreate.request.safeParse({ name, email }).success).toBe(false);
    }
  });

  it('refuse a subject that PostgreSQL text cannot store as sent, as in a name', () => {
    const user = { name: 'Ada', email: 'ada@example.com' };
    expect(usersCreate.request.parse({ ...user, subject: 'auth0|Zoë 🚀' }).subject).toBe('auth0|Zoë 🚀');
    for (const subject of ['a\u0000b', 'a\ud800b']) {
      expect(usersCreate.request.safeParse({ ...user, subject }).success).toBe(false);
    }
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
