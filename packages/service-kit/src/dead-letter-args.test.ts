import { parseDeadLetterArgs, UsageError } from './dead-letter-args';

describe('parseDeadLetterArgs', () => {
  it('applies every default, with the limit each action has', () => {
    expect(parseDeadLetterArgs(['list', 'users.create'])).toEqual({
      action: 'list',
      route: 'users.create',
      ids: undefined,
      limit: 100,
      yes: false,
      force: false,
      timeoutMs: 10_000,
    });
    expect(parseDeadLetterArgs(['show', 'users.create']).limit).toBe(1);
    expect(parseDeadLetterArgs(['replay', 'users.create']).limit).toBeUndefined();
    expect(parseDeadLetterArgs(['purge', 'users.create']).limit).toBeUndefined();
  });

  it('reads repeated ids, the limit, the flags and the timeout, in any order', () => {
    expect(
      parseDeadLetterArgs([
        '--id',
        'c-1',
        'replay',
        '--force',
        'orders.create',
        '--id=m-2',
        '--limit',
        '5',
        '--yes',
        '--timeout-ms',
        '2500',
      ]),
    ).toEqual({
      action: 'replay',
      route: 'orders.create',
      ids: ['c-1', 'm-2'],
      limit: 5,
      yes: true,
      force: true,
      timeoutMs: 2500,
    });
  });

  it("accepts the dead-letter queue's own name, as an alert names it", () => {
    expect(parseDeadLetterArgs(['list', 'users.create.dead-letter']).route).toBe('users.create');
  });

  it.each([
    [[], 'no action given'],
    [['drop', 'users.create'], 'unknown action drop'],
    [['list'], 'list needs a route, e.g. users.create'],
    [['list', 'users create'], 'users create is not a route name'],
    [['list', 'users.create', 'orders.create'], 'unexpected orders.create'],
    [['list', 'users.create', '--limit', '0'], '--limit must be a positive integer'],
    [['list', 'users.create', '--limit', 'all'], '--limit must be a positive integer'],
    [['replay', 'users.create', '--timeout-ms', '1.5'], '--timeout-ms must be a positive integer'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseDeadLetterArgs(argv)).toThrow(new UsageError(message));
  });

  it('refuses an option it does not know, and an option without its value', () => {
    expect(() => parseDeadLetterArgs(['purge', 'users.create', '--all'])).toThrow(UsageError);
    expect(() => parseDeadLetterArgs(['show', 'users.create', '--id'])).toThrow(UsageError);
  });
});
