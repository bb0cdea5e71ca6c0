import {
  ConfigurationError,
  booleanVariable,
  integerVariable,
  logLevelVariable,
  optionalUrlVariable,
  parseEnvironment,
  urlVariable,
} from '@warren/service-kit';
import { z } from 'zod';

/** Express's `trust proxy` setting: a boolean, a hop count, or a comma list of addresses/subnets. */
export type TrustProxySetting = boolean | number | string;

export interface AuthConfig {
  /** The `iss` every token must carry (AUTH_ISSUER). */
  issuer: string;
  /** The `aud` every token must name (AUTH_AUDIENCE, default `warren`). */
  audience: string;
  /** Where the signing keys are (AUTH_JWKS_URL); undefined: the issuer's OpenID discovery document says. */
  jwksUrl: string | undefined;
  /** Leeway for `exp` and `nbf` (AUTH_CLOCK_TOLERANCE_SECONDS, default 30). */
  clockToleranceSeconds: number;
}

export interface GatewayConfig {
  port: number;
  host: string;
  amqpUrl: string;
  redisUrl: string;
  rpcTimeoutMs: number;
  bodyLimit: string;
  cacheTtlSeconds: number;
  idempotencyTtlSeconds: number;
  rateLimitPerMinute: number;
  rateLimitWindowMs: number;
  /** RPC calls in flight at once; past it requests are shed with 503 and Retry-After. */
  maxInFlightRpc: number;
  /** Event-loop delay in ms past which API requests are shed with 503 and Retry-After; 0 turns it off. */
  maxEventLoopDelayMs: number;
  /** Allowed CORS origins; empty means CORS is off. */
  corsOrigins: string[];
  trustProxy: TrustProxySetting;
  /** Bearer-token authentication; undefined only when AUTH_DISABLED=true says the API is to be open. */
  auth: AuthConfig | undefined;
  logLevel: string;
  logPretty: boolean;
  shutdownTimeoutMs: number;
}

const schema = z.object({
  PORT: integerVariable(8080, 0, 65_535),
  HOST: z.string().min(1).default('0.0.0.0'),
  AMQP_URL: urlVariable('amqp://warren:warren@127.0.0.1:5672', ['amqp', 'amqps']),
  REDIS_URL: urlVariable('redis://127.0.0.1:6379', ['redis', 'rediss']),
  RPC_TIMEOUT_MS: integerVariable(5000, 1, 600_000),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(b|kb|mb)?$/i, 'must be a size such as 64kb, 1mb or 65536')
    .default('64kb'),
  CACHE_TTL_SECONDS: integerVariable(30, 1, 86_400),
  IDEMPOTENCY_TTL_SECONDS: integerVariable(86_400, 1, 30 * 86_400),
  RATE_LIMIT_PER_MINUTE: integerVariable(6000, 1, 100_000_000),
  RATE_LIMIT_WINDOW_MS: integerVariable(60_000, 1000, 86_400_000),
  MAX_IN_FLIGHT_RPC: integerVariable(512, 1, 1_000_000),
  MAX_EVENT_LOOP_DELAY_MS: integerVariable(0, 0, 60_000),
  CORS_ORIGINS: z.string().default(''),
  TRUST_PROXY: z.string().min(1).default('false'),
  AUTH_ISSUER: optionalUrlVariable(['http', 'https']),
  AUTH_AUDIENCE: z.string().min(1).default('warren'),
  AUTH_JWKS_URL: optionalUrlVariable(['http', 'https']),
  AUTH_CLOCK_TOLERANCE_SECONDS: integerVariable(30, 0, 600),
  AUTH_DISABLED: booleanVariable(false),
  LOG_LEVEL: logLevelVariable,
  LOG_PRETTY: booleanVariable(false),
  SHUTDOWN_TIMEOUT_MS: integerVariable(25_000, 1000, 600_000),
});

/** `true`/`false`, a hop count, or anything else Express understands (e.g. `loopback, 10.0.0.0/8`). */
export function parseTrustProxy(value: string): TrustProxySetting {
  const trimmed = value.trim();
  if (trimmed === 'true') return true;
  if (trimmed === 'false' || trimmed === '') return false;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed;
}

/** The gateway's configuration: the only place that reads the environment. */
export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = parseEnvironment(schema, env);
  // Secure by default: an open API is a choice someone wrote down, never what a forgotten variable leaves.
  if (parsed.AUTH_ISSUER === undefined && !parsed.AUTH_DISABLED) {
    throw new ConfigurationError(
      'invalid configuration: AUTH_ISSUER: set the OpenID issuer of the bearer tokens, or AUTH_DISABLED=true to run the API without authentication (missing)',
    );
  }
  if (parsed.AUTH_ISSUER !== undefined && parsed.AUTH_DISABLED) {
    throw new ConfigurationError('invalid configuration: AUTH_DISABLED: true, yet AUTH_ISSUER is set; choose one');
  }
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    amqpUrl: parsed.AMQP_URL,
    redisUrl: parsed.REDIS_URL,
    rpcTimeoutMs: parsed.RPC_TIMEOUT_MS,
    bodyLimit: parsed.BODY_LIMIT.replace(/\s+/g, '').toLowerCase(),
    cacheTtlSeconds: parsed.CACHE_TTL_SECONDS,
    idempotencyTtlSeconds: parsed.IDEMPOTENCY_TTL_SECONDS,
    rateLimitPerMinute: parsed.RATE_LIMIT_PER_MINUTE,
    rateLimitWindowMs: parsed.RATE_LIMIT_WINDOW_MS,
    maxInFlightRpc: parsed.MAX_IN_FLIGHT_RPC,
    maxEventLoopDelayMs: parsed.MAX_EVENT_LOOP_DELAY_MS,
    corsOrigins: parsed.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin.length > 0),
    trustProxy: parseTrustProxy(parsed.TRUST_PROXY),
    auth:
      parsed.AUTH_ISSUER === undefined
        ? undefined
        : {
            issuer: parsed.AUTH_ISSUER,
            audience: parsed.AUTH_AUDIENCE,
            jwksUrl: parsed.AUTH_JWKS_URL,
            clockToleranceSeconds: parsed.AUTH_CLOCK_TOLERANCE_SECONDS,
          },
    logLevel: parsed.LOG_LEVEL,
    logPretty: parsed.LOG_PRETTY,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
  };
}
