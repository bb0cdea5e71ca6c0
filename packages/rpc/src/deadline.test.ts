import { beforeDeadline, effectiveDeadline, settlesWithin } from './deadline';

describe('effectiveDeadline', () => {
  it('is now + timeout when the caller has no deadline', () => {
    expect(effectiveDeadline(1_000, 2000, undefined)).toBe(3_000);
  });

  it("is the caller's deadline when that comes first, the timeout's otherwise", () => {
    expect(effectiveDeadline(1_000, 2000, 1_500)).toBe(1_500);
    expect(effectiveDeadline(1_000, 2000, 10_000)).toBe(3_000);
  });

  it('is not after now once the deadline has passed, so a call is refused at once', () => {
    expect(effectiveDeadline(1_000, 2000, 1_000)).toBe(1_000);
    expect(effectiveDeadline(1_000, 2000, 900)).toBe(900);
  });

  it('ignores a deadline that is not a number', () => {
    expect(effectiveDeadline(1_000, 2000, Number.NaN)).toBe(3_000);
  });
});

describe('beforeDeadline', () => {
  const expired = () => new Error('expired');

  it('settles as the work does when it is in time', async () => {
    await expect(beforeDeadline(Promise.resolve(7), Date.now() + 1000, expired)).resolves.toBe(7);
    await expect(beforeDeadline(Promise.reject(new Error('no')), Date.now() + 1000, expired)).rejects.toThrow('no');
  });

  it('rejects at the deadline while the work still hangs', async () => {
    await expect(beforeDeadline(new Promise(() => undefined), Date.now() + 20, expired)).rejects.toThrow('expired');
  });

  it('rejects at once when the deadline has passed, and swallows the late rejection of the work', async () => {
    let fail: (error: Error) => void = () => undefined;
    const work = new Promise((_resolve, reject) => (fail = reject));
    await expect(beforeDeadline(work, Date.now() - 1, expired)).rejects.toThrow('expired');
    fail(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});

describe('settlesWithin', () => {
  it('is true when the work settles either way, false when it hangs past the limit', async () => {
    await expect(settlesWithin(Promise.resolve(), 1000)).resolves.toBe(true);
    await expect(settlesWithin(Promise.reject(new Error('x')), 1000)).resolves.toBe(true);
    await expect(settlesWithin(new Promise(() => undefined), 20)).resolves.toBe(false);
  });
});
