import { z } from 'zod';
import { booleanVariable, ConfigurationError, integerVariable, parseEnvironment, urlVariable } from './config';

const schema = z.object({
  AMQP_URL: urlVariable('amqp://localhost', ['amqp', 'amqps']),
  PG_POOL_SIZE: integerVariable(10, 1, 100),
  LOG_PRETTY: booleanVariable(false),
});

describe('parseEnvironment', () => {
  it('applies defaults and coerces types', () => {
    expect(parseEnvironment(schema, {})).toEqual({ AMQP_URL: 'amqp://localhost', PG_POOL_SIZE: 10, LOG_PRETTY: false });
    expect(parseEnvironment(schema, { PG_POOL_SIZE: '4', LOG_PRETTY: '1' })).toMatchObject({
      PG_POOL_SIZE: 4,
      LOG_PRETTY: true,
    });
  });

  it('fails with one line naming each bad variable, without echoing a password', () => {
    let error: unknown;
    try {
      parseEnvironment(schema, { AMQP_URL: 'http://user:hunter2@host', PG_POOL_SIZE: 'many' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('AMQP_URL: must be a amqp or amqps URL');
    expect(message).toContain('PG_POOL_SIZE');
    expect(message).not.toContain('hunter2');
  });
});
