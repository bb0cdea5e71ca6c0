import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { PROMETHEUS_JOBS, RABBITMQ_METRICS_PATH, REPOSITORY_ROOT, renderPrometheusConfig } from '@warren/launcher';
import { api, uniqueEmail } from './support/http';
import {
  CHART_FILES,
  checkSelector,
  dashboardExpressions,
  loadDashboards,
  loadRules,
  panelsOf,
  parsePromQL,
  PROMETHEUS_FILES,
  recordedNames,
  ruleExpressions,
  RULES_FILE,
  scrape,
  type Exposition,
} from './support/observability';
import { startRunningSuite } from './support/running-suite';
import { PrivateVhost } from './support/vhost';

jest.setTimeout(90_000);

const run = promisify(execFile);
const RABBITMQ_PROMETHEUS = 'http://127.0.0.1:15692';

describe('dashboards, alerts and scrape configuration as code', () => {
  const dashboards = loadDashboards();
  const rules = loadRules();
  const expressions = [...dashboards.flatMap(dashboardExpressions), ...ruleExpressions(rules)];
  const alerts = rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule] : [])));

  describe('Grafana dashboards (charts/warren/files/dashboards)', () => {
    it('are the three Warren dashboards, each valid JSON with its own uid', () => {
      expect(dashboards.map(({ json }) => json.title).sort()).toEqual([
        'Warren — RED by service and route',
        'Warren — RPC',
        'Warren — RabbitMQ',
      ]);
      expect(new Set(dashboards.map(({ json }) => json.uid)).size).toBe(dashboards.length);
      for (const { json } of dashboards) expect(json.schemaVersion).toBe(39);
    });

    it('query Prometheus through the ${datasource} variable, in every panel that is not a row, with targets', () => {
      for (const { file, json } of dashboards) {
        const variables = json.templating.list;
        expect(variables).toContainEqual(
          expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
        );
        const panels = panelsOf(json).filter((panel) => panel.type !== 'row');
        expect(panels.length).toBeGreaterThan(5);
        for (const panel of panels) {
          const where = `${file} "${panel.title}"`;
          expect([where, panel.datasource]).toEqual([where, { type: 'prometheus', uid: '${datasource}' }]);
          expect([where, panel.targets?.length > 0]).toEqual([where, true]);
          for (const target of panel.targets) {
            expect([where, target.datasource?.uid, typeof target.expr, target.expr.length > 0]).toEqual([
              where,
              '${datasource}',
              'string',
              true,
            ]);
          }
        }
        const ids = panelsOf(json).map((panel) => panel.id);
        expect(new Set(ids).size).toBe(ids.length);
      }
    });

    it('cover rate, errors and latency by route, the RPC metrics and the broker', () => {
      const used = (title: string) =>
        new Set(
          dashboards
            .filter(({ json }) => json.title === title)
            .flatMap(dashboardExpressions)
            .flatMap(({ expr }) => parsePromQL(expr).selectors.map((selector) => selector.metric)),
        );
      expect([...used('Warren — RED by service and route')]).toEqual(
        expect.arrayContaining([
          'http_requests_total',
          'http_request_duration_seconds_bucket',
          'rpc_server_duration_seconds_count',
          'rpc_server_duration_seconds_bucket',
          'rpc_server_errors_total',
        ]),
      );
      expect([...used('Warren — RPC')]).toEqual(
        expect.arrayContaining([
          'rpc_client_duration_seconds_bucket',
          'rpc_server_duration_seconds_bucket',
          'rpc_client_timeouts_total',
          'rpc_client_in_flight',
          'rpc_server_in_flight',
          'rpc_server_expired_total',
          'rpc_server_dead_lettered_total',
        ]),
      );
      expect([...used('Warren — RabbitMQ')]).toEqual(
        expect.arrayContaining([
          'rabbitmq_queue_messages_ready',
          'rabbitmq_queue_consumers',
          'rabbitmq_queue_messages_published_total',
          'rabbitmq_channel_messages_delivered_ack_total',
          'rabbitmq_channel_messages_acked_total',
          'rabbitmq_connections',
          'rabbitmq_channels',
          'rabbitmq_queue_messages',
        ]),
      );
    });

    it('link to traces on the Jaeger data source that Grafana provisioning defines, next to Prometheus', () => {
      const provisioning = parseYaml(readFileSync(join(CHART_FILES, 'grafana/datasources.yaml'), 'utf8'));
      const sources = provisioning.datasources.map((source: any) => [source.type, source.uid, source.url]);
      expect(sources).toEqual([
        ['prometheus', 'prometheus', '${PROMETHEUS_URL}'],
        ['jaeger', 'jaeger', '${JAEGER_URL}'],
      ]);
      const links = dashboards.flatMap(({ json }) =>
        panelsOf(json).flatMap((panel) => panel.fieldConfig?.defaults?.links ?? []),
      );
      expect(links.length).toBeGreaterThan(5);
      for (const link of links) {
        const panes = JSON.parse(new URL(link.url, 'http://grafana').searchParams.get('panes')!);
        expect(panes.traces.datasource).toBe('jaeger');
        expect(panes.traces.queries[0]).toMatchObject({
          datasource: { type: 'jaeger', uid: 'jaeger' },
          queryType: 'search',
        });
      }

      const providers = parseYaml(readFileSync(join(CHART_FILES, 'grafana/dashboards.yaml'), 'utf8')).providers;
      expect(providers).toEqual([expect.objectContaining({ type: 'file', folder: 'Warren' })]);
    });
  });

  describe('PromQL', () => {
    it('parses every expression of the dashboards and rules with the Prometheus grammar, without error nodes', () => {
      expect(expressions.length).toBeGreaterThan(60);
      const problems = expressions.flatMap(({ origin, expr }) =>
        parsePromQL(expr).errors.map((error) => `${origin}: ${error} in ${expr}`),
      );
      expect(problems).toEqual([]);
    });

    it('reports broken expressions, Grafana variables left over, and selectors it cannot name', () => {
      expect(parsePromQL('sum(rate(http_requests_total[5m])').errors).not.toEqual([]);
      expect(parsePromQL('rate(http_requests_total{job="warren-gateway"[5m])').errors).not.toEqual([]);
      expect(parsePromQL('rate(http_requests_total[$__rate_interval])').errors).not.toEqual([]);
      expect(parsePromQL('{__name__=~"http_.+"}').errors).not.toEqual([]);
      expect(
        parsePromQL('sum by (route) (rate({__name__="up", job=~"warren-.+"}[5m])) / ignoring(x) foo').selectors,
      ).toEqual([
        {
          metric: 'up',
          matchers: [
            { label: '__name__', op: '=', value: 'up' },
            { label: 'job', op: '=~', value: 'warren-.+' },
          ],
          text: '{__name__="up", job=~"warren-.+"}',
        },
        { metric: 'foo', matchers: [], text: 'foo' },
      ]);
    });
  });

  describe('against the live services and RabbitMQ', () => {
    let running: Awaited<ReturnType<typeof startRunningSuite>>;
    let expositions: Exposition[];
    const recorded = recordedNames(rules);
    // Its own virtual host, so that its workers (not another suite's) handle its requests and count them.
    const vhost = new PrivateVhost();

    beforeAll(async () => {
      await vhost.create();
      running = await startRunningSuite({ AMQP_URL: vhost.amqpUrl });
      // Traffic, so that labelled series exist: a user, an order (orders calls users.get), a miss (not_found).
      const user = await api(running.baseUrl, 'POST', '/v1/users', { body: { name: 'Metrics', email: uniqueEmail() } });
      expect(user.status).toBe(201);
      const order = await api(running.baseUrl, 'POST', '/v1/orders', {
        body: { userId: user.body.id, currency: 'EUR', items: [{ sku: 'X-1', quantity: 1, unitPriceCents: 100 }] },
      });
      expect(order.status).toBe(201);
      expect((await api(running.baseUrl, 'GET', '/v1/users/01900000-0000-7000-8000-000000000000')).status).toBe(404);
      expositions = await Promise.all([
        scrape(PROMETHEUS_JOBS.gateway, `${running.suite.opsUrl('gateway')}/metrics`),
        scrape(PROMETHEUS_JOBS.users, `${running.suite.opsUrl('users')}/metrics`),
        scrape(PROMETHEUS_JOBS.orders, `${running.suite.opsUrl('orders')}/metrics`),
        scrape(PROMETHEUS_JOBS.rabbitmq, `${RABBITMQ_PROMETHEUS}${RABBITMQ_METRICS_PATH}`),
      ]);
    });
    afterAll(async () => {
      await running?.stop();
      await vhost.delete();
    });

    it('exposes every metric the dashboards and rules select, with the labels they match on, on the jobs they name', () => {
      const selectors = expressions.flatMap(({ origin, expr }) =>
        parsePromQL(expr).selectors.map((selector) => ({ origin, selector })),
      );
      expect(selectors.length).toBeGreaterThan(90);
      const problems = selectors.flatMap(({ origin, selector }) =>
        checkSelector(selector, expositions, recorded).map((problem) => `${origin}: ${problem}`),
      );
      expect(problems).toEqual([]);
    });

    it('reports a metric no target exposes, a metric on the wrong job, and a label the metric does not have', () => {
      const check = (expr: string) => checkSelector(parsePromQL(expr).selectors[0]!, expositions, recorded);
      expect(check('http_requests_totl{job="warren-gateway"}')).toEqual([
        expect.stringContaining('http_requests_totl is not exposed by warren-gateway'),
      ]);
      expect(check('rabbitmq_queue_messages_ready{job="warren-gateway"}')).toHaveLength(1);
      expect(check('http_requests_total{job="warren-gateway", status="500"}')).toEqual([
        expect.stringContaining('has no label status'),
      ]);
      expect(check('http_requests_total{job="warren-gateway", status_code="500"}')).toEqual([]);
      expect(check('rpc_server_duration_seconds_bucket{job="warren-users", le="+Inf"}')).toEqual([]);
      expect(check('service:http_requests_5xx:ratio_rate5m')).toEqual([]);
    });
  });

  describe('Prometheus rules and configuration (promtool)', () => {
    it('passes `promtool check rules`', async () => {
      const { stdout } = await run('promtool', ['check', 'rules', RULES_FILE]);
      const count = rules.groups.reduce((sum, group) => sum + group.rules.length, 0);
      expect(stdout).toContain(`SUCCESS: ${count} rules found`);
    });

    it('gives every alert a severity, a summary, a description and a `for:` that parses', () => {
      expect(alerts.map((alert) => alert.alert).sort()).toEqual([
        'WarrenDeadLetters',
        'WarrenDeadLettersWaiting',
        'WarrenHighHttpErrorRate',
        'WarrenHighHttpLatency',
        'WarrenHighRpcLatency',
        'WarrenQueueBacklogGrowing',
        'WarrenQueueBacklogHigh',
        'WarrenRouteQueueWithoutConsumers',
        'WarrenRpcRequestsDeadLettered',
        'WarrenRpcServerFaults',
        'WarrenRpcTimeouts',
        'WarrenServiceDown',
      ]);
      for (const alert of alerts) {
        expect([alert.alert, alert.labels?.severity]).toEqual([
          alert.alert,
          expect.stringMatching(/^(critical|warning)$/),
        ]);
        expect(alert.annotations).toEqual({ summary: expect.any(String), description: expect.any(String) });
        if (alert.for !== undefined) expect(alert.for).toMatch(/^\d+[smh]$/);
      }
    });

    it('passes `promtool test rules`, whose tests see every alert fire and some stay quiet', async () => {
      const tests = parseYaml(readFileSync(join(PROMETHEUS_FILES, 'rules.test.yaml'), 'utf8'));
      const cases = tests.tests.flatMap((test: any) => test.alert_rule_test ?? []);
      const fired = new Set(cases.filter((c: any) => c.exp_alerts?.length > 0).map((c: any) => c.alertname));
      expect([...fired].sort()).toEqual(alerts.map((alert) => alert.alert).sort());
      expect(cases.filter((c: any) => (c.exp_alerts ?? []).length === 0).length).toBeGreaterThanOrEqual(5);

      const { stdout } = await run('promtool', ['test', 'rules', 'rules.test.yaml'], { cwd: PROMETHEUS_FILES });
      expect(stdout).toContain('SUCCESS');
      expect(stdout).not.toContain('FAILED');
    });

    it('runs a local Prometheus from observability/prometheus/prometheus.local.yml, what the launcher generates', async () => {
      const path = join(REPOSITORY_ROOT, 'observability/prometheus/prometheus.local.yml');
      const { stdout } = await run('promtool', ['check', 'config', path]);
      expect(stdout).toContain('is valid prometheus config file syntax');
      expect(stdout).toContain('1 rule files found');
      const withoutComments = readFileSync(path, 'utf8').replace(/^(#.*\n)+/, '');
      expect(withoutComments).toBe(
        renderPrometheusConfig({ ruleFiles: ['../../charts/warren/files/prometheus/rules.yaml'] }),
      );
      const config = parseYaml(withoutComments);
      expect(config.scrape_configs.map((job: any) => job.job_name)).toEqual(Object.values(PROMETHEUS_JOBS));
    });
  });
});
