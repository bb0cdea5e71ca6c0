import { parseApplyQueuePolicyConfig, UsageError } from './config';

const environment = { RABBITMQ_MANAGEMENT_URL: 'http://warren:warren@127.0.0.1:15672' };

describe('parseApplyQueuePolicyConfig', () => {
  it('takes the defaults from the policy when no option is given', () => {
    expect(parseApplyQueuePolicyConfig([], environment)).toEqual({
      managementUrl: environment.RABBITMQ_MANAGEMENT_URL,
      vhost: '/',
      settings: { deliveryLimit: undefined, deadLetterExchange: undefined },
      waitSeconds: 0,
    });
  });

  it('reads every option', () => {
    const argv = [
      '--vhost',
      'warren',
      '--delivery-limit',
      '9',
      '--dead-letter-exchange',
      'dlx',
      '--wait-seconds',
      '60',
    ];
    expect(parseApplyQueuePolicyConfig(argv, environment)).toEqual({
      managementUrl: environment.RABBITMQ_MANAGEMENT_URL,
      vhost: 'warren',
      settings: { deliveryLimit: 9, deadLetterExchange: 'dlx' },
      waitSeconds: 60,
    });
  });

  it('refuses what it does not understand, and a missing management URL', () => {
    expect(() => parseApplyQueuePolicyConfig(['--delivery-limit', 'five'], environment)).toThrow(UsageError);
    expect(() => parseApplyQueuePolicyConfig(['--limit', '5'], environment)).toThrow(UsageError);
    expect(() => parseApplyQueuePolicyConfig([], {})).toThrow('RABBITMQ_MANAGEMENT_URL is not set');
    expect(parseApplyQueuePolicyConfig(['--help'], {})).toBeUndefined();
  });
});
