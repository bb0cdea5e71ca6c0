import { DEFAULT_DELIVERY_LIMIT, routeQueuePolicy } from './queue-policy';
import { deadLetterQueueOf, DEFAULT_DEAD_LETTER_EXCHANGE, queueNameOf } from './queues';

describe('routeQueuePolicy', () => {
  it('covers every route queue of the vhost, but no dead-letter queue and no server-named queue', () => {
    const pattern = new RegExp(routeQueuePolicy().pattern);
    for (const queue of ['users.create', 'orders.get', queueNameOf('users.get', { queuePrefix: 'gwtest1a2b.' })])
      expect({ queue, matched: pattern.test(queue) }).toEqual({ queue, matched: true });
    for (const queue of [deadLetterQueueOf('users.create'), 'amq.gen-JzTY20BRgKO-HjmUJj0wLg', 'amq.rabbitmq.reply-to'])
      expect({ queue, matched: pattern.test(queue) }).toEqual({ queue, matched: false });
  });

  it('narrows to a queue prefix, taken literally', () => {
    const pattern = new RegExp(routeQueuePolicy({ queuePrefix: 'test.a+b.' }).pattern);
    expect(pattern.test('test.a+b.users.create')).toBe(true);
    expect(pattern.test('test.aab.users.create')).toBe(false);
    expect(pattern.test('users.create')).toBe(false);
    expect(pattern.test('test.a+b.users.create.dead-letter')).toBe(false);
  });

  it('defaults to 5 deliveries and the dead-letter exchange the servers declare, and refuses a limit below 1', () => {
    expect(routeQueuePolicy()).toEqual({
      name: 'warren-route-queues',
      pattern: '^(?!amq\\.)(?!.*\\.dead-letter$)',
      'apply-to': 'queues',
      priority: 0,
      definition: { 'delivery-limit': DEFAULT_DELIVERY_LIMIT, 'dead-letter-exchange': DEFAULT_DEAD_LETTER_EXCHANGE },
    });
    expect(DEFAULT_DELIVERY_LIMIT).toBe(5);
    expect(() => routeQueuePolicy({ deliveryLimit: 0 })).toThrow(RangeError);
    expect(() => routeQueuePolicy({ deliveryLimit: 2.5 })).toThrow(RangeError);
  });
});
