import { z } from 'zod';
import { fieldErrorsFromDetails, issuesToFieldErrors, problemType } from './problem';

describe('issuesToFieldErrors', () => {
  const schema = z.strictObject({
    name: z.string().min(1),
    items: z.array(z.strictObject({ quantity: z.number().int().min(1) })),
  });

  it('names each bad field with a dotted path', () => {
    const parsed = schema.safeParse({ name: '', items: [{ quantity: 0 }] });
    expect(parsed.success).toBe(false);
    const errors = issuesToFieldErrors(parsed.error!.issues, 'body');
    expect(errors.map((error) => error.path)).toEqual(['name', 'items.0.quantity']);
    expect(errors.every((error) => error.message.length > 0)).toBe(true);
  });

  it('turns unknown keys into one error per key, nested ones with their parent path', () => {
    const parsed = schema.safeParse({ name: 'a', items: [{ quantity: 1, discount: 5 }], isAdmin: true, role: 'x' });
    const errors = issuesToFieldErrors(parsed.error!.issues, 'body');
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: 'isAdmin', message: 'unknown field' },
        { path: 'role', message: 'unknown field' },
        { path: 'items.0.discount', message: 'unknown field' },
      ]),
    );
    expect(errors).toHaveLength(3);
  });

  it('names the location when the whole value is wrong', () => {
    const parsed = schema.safeParse(undefined);
    expect(issuesToFieldErrors(parsed.error!.issues, 'body')).toEqual([{ path: 'body', message: expect.any(String) }]);
  });
});

describe('fieldErrorsFromDetails', () => {
  it('keeps well-formed entries only, and only their path and message', () => {
    expect(fieldErrorsFromDetails([{ path: 'a', message: 'b', secret: 'x' }, { path: 1 }, null])).toEqual([
      { path: 'a', message: 'b' },
    ]);
    expect(fieldErrorsFromDetails([])).toBeUndefined();
    expect(fieldErrorsFromDetails('nope')).toBeUndefined();
  });
});

describe('problemType', () => {
  it('is a URN per slug', () => {
    expect(problemType('not-found')).toBe('urn:warren:problem:not-found');
  });
});
