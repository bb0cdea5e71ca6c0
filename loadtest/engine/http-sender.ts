/**
 * Sends a flow's requests over bench's lean HTTP/1.1 keep-alive client and records what k6 records for each:
 * http_reqs, http_req_duration (from the request's write to the end of its response: k6's sending + waiting +
 * receiving, not the wait for a connection; a request with no response times out after 60 s, as in k6, and is
 * status 0), http_req_failed (expected: 200-399, k6's default), and the scripts'
 * server_errors and refused_requests, tagged name, method, status, expected_response and the scenario's tags.
 */
import { HttpPool } from '@warren/bench';
import { isRefusal, isServerError } from '../lib/checks.ts';
import type { LoadRequest, LoadResponse } from '../lib/http-types.ts';
import { withBearerToken } from '../lib/requests.ts';
import type { MetricRegistry, Tags } from './metrics.ts';

/** k6's default request timeout. */
const REQUEST_TIMEOUT_MS = 60_000;

export class HttpSender {
  private readonly pool: HttpPool;
  private readonly hostHeader: string;

  constructor(
    baseUrl: string,
    maxConnections: number,
    private readonly metrics: MetricRegistry,
    /** Sent as `Authorization: Bearer` with every request (LoadSettings.token); none by default. */
    private readonly token?: string,
  ) {
    const url = new URL(baseUrl);
    this.hostHeader = url.host;
    this.pool = new HttpPool(url.hostname, Number(url.port || 80), maxConnections);
  }

  async send(request: LoadRequest, scenarioTags: Tags): Promise<LoadResponse> {
    let response: LoadResponse;
    const queuedAt = performance.now();
    let durationMs: number;
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        this.pool.request(this.bytesOf(withBearerToken(request, this.token))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('request timeout')), REQUEST_TIMEOUT_MS);
        }),
      ]);
      durationMs = performance.now() - answer.sentAt;
      response = {
        status: answer.status,
        headers: Object.fromEntries(answer.headers),
        body: answer.body.toString('utf8'),
      };
    } catch {
      // As k6 reports a request that got no response (refused, reset, timed out): status 0, the time it took.
      durationMs = performance.now() - queuedAt;
      response = { status: 0, headers: {}, body: '' };
    } finally {
      clearTimeout(timer);
    }
    const expected = response.status >= 200 && response.status <= 399;
    const tags: Tags = {
      ...scenarioTags,
      name: request.tags.name,
      method: request.method,
      status: String(response.status),
      expected_response: String(expected),
    };
    this.metrics.add('http_reqs', 1, tags);
    this.metrics.add('http_req_duration', durationMs, tags);
    this.metrics.add('http_req_failed', expected ? 0 : 1, tags);
    this.metrics.add('server_errors', isServerError(response) ? 1 : 0, tags);
    if (isRefusal(response)) this.metrics.add('refused_requests', 1, tags);
    return response;
  }

  close(): void {
    this.pool.close();
  }

  private bytesOf(request: LoadRequest): Buffer {
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    const headers = { ...request.headers, host: this.hostHeader, 'content-length': String(body?.length ?? 0) };
    const head = `${request.method} ${request.path} HTTP/1.1\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`;
    return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
  }
}
