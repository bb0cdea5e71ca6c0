import { parser } from '@prometheus-io/lezer-promql';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPOSITORY_ROOT } from '@warren/launcher';

export const CHART_FILES = join(REPOSITORY_ROOT, 'charts/warren/files');
export const DASHBOARDS_DIR = join(CHART_FILES, 'dashboards');
export const PROMETHEUS_FILES = join(CHART_FILES, 'prometheus');
export const RULES_FILE = join(PROMETHEUS_FILES, 'rules.yaml');

/** One PromQL expression and where it comes from, for messages. */
export interface Expression {
  origin: string;
  expr: string;
}

// ---------------------------------------------------------------- dashboards

export interface Dashboard {
  file: string;
  json: any;
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) }));
}

/** Every panel, rows' nested panels included. */
export function panelsOf(dashboard: any): any[] {
  return (dashboard.panels ?? []).flatMap((panel: any) => [panel, ...(panel.panels ?? [])]);
}

// Grafana's built-in interval variables become a duration; the dashboard's own variables (all used inside regex
// matchers, e.g. service=~"$service") become `.+`, what "All" means. Anything else left with a `$` is an error.
const INTERVAL_VARIABLES = /\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}/g;

export function substituteGrafanaVariables(expr: string, variables: string[]): string {
  let result = expr.replace(INTERVAL_VARIABLES, '5m');
  for (const name of variables) {
    result = result.replace(new RegExp(`\\$\\{${name}(?::\\w+)?\\}|\\$${name}\\b`, 'g'), '.+');
  }
  return result;
}

/** `label_values(<selector>, label)` of a query variable: the selector is PromQL too. */
function variableSelector(query: string): string | null {
  const match = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(query);
  return match ? match[1]! : null;
}

/** Every PromQL expression of a dashboard (targets and query variables), with Grafana variables substituted. */
export function dashboardExpressions({ file, json }: Dashboard): Expression[] {
  const variables: any[] = json.templating?.list ?? [];
  const names = variables.map((variable) => String(variable.name));
  const expressions: Expression[] = [];
  for (const variable of variables.filter((variable) => variable.type === 'query')) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const selector = variableSelector(String(query));
    if (selector === null) throw new Error(`${file}: variable ${variable.name} is not label_values(…): ${query}`);
    expressions.push({
      origin: `${file} variable ${variable.name}`,
      expr: substituteGrafanaVariables(selector, names),
    });
  }
  for (const panel of panelsOf(json)) {
    for (const target of panel.targets ?? []) {
      expressions.push({
        origin: `${file} panel "${panel.title}" ${target.refId}`,
        expr: substituteGrafanaVariables(String(target.expr), names),
      });
    }
  }
  return expressions;
}

// ---------------------------------------------------------------- rules

export interface RuleFile {
  groups: {
    name: string;
    rules: { record?: string; alert?: string; expr: string; for?: string; labels?: any; annotations?: any }[];
  }[];
}

export function loadRules(path = RULES_FILE): RuleFile {
  return parseYaml(readFileSync(path, 'utf8')) as RuleFile;
}

export function ruleExpressions(rules: RuleFile): Expression[] {
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({ origin: `rules ${group.name} ${rule.record ?? rule.alert}`, expr: rule.expr })),
  );
}

export function recordedNames(rules: RuleFile): Set<string> {
  return new Set(rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : []))));
}

// ---------------------------------------------------------------- PromQL

export interface Matcher {
  label: string;
  op: string;
  value: string;
}

/** A vector selector: its metric name (from the identifier or a `__name__="…"` matcher) and its label matchers. */
export interface Selector {
  metric: string | null;
  matchers: Matcher[];
  text: string;
}

export interface ParsedExpression {
  errors: string[];
  selectors: Selector[];
}

// Warren's expressions quote strings with double quotes (or backticks, raw); their escapes are JSON's.
function unquote(literal: string): string {
  return literal.startsWith('`') ? literal.slice(1, -1) : (JSON.parse(literal) as string);
}

/** Parses with the Prometheus UI's grammar; any error node is reported with the text around it. */
export function parsePromQL(expr: string): ParsedExpression {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  const text = (node: { from: number; to: number }) => expr.slice(node.from, node.to);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(`syntax error at ${ref.from}: …${expr.slice(Math.max(0, ref.from - 20), ref.from + 20)}…`);
        return;
      }
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const selector: Selector = { metric: null, matchers: [], text: text(node) };
      const identifier = node.getChild('Identifier');
      if (identifier) selector.metric = text(identifier);
      for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = matcher.getChild('LabelName');
        const op = matcher.getChild('MatchOp');
        const value = matcher.getChild('StringLiteral');
        if (!label || !op || !value) {
          errors.push(`incomplete label matcher ${text(matcher)}`);
          continue;
        }
        selector.matchers.push({ label: text(label), op: text(op), value: unquote(text(value)) });
      }
      if (node.getChild('LabelMatchers')?.getChild('QuotedLabelMatcher')) {
        errors.push(`quoted (UTF-8) label names are not used in Warren: ${selector.text}`);
      }
      const nameMatcher = selector.matchers.find((matcher) => matcher.label === '__name__');
      if (nameMatcher) {
        if (nameMatcher.op !== '=')
          errors.push(`select metrics by exact name, not ${nameMatcher.op}: ${selector.text}`);
        selector.metric = nameMatcher.value;
      }
      if (!selector.metric) errors.push(`a selector without a metric name: ${selector.text}`);
      selectors.push(selector);
    },
  });
  if (expr.includes('$')) errors.push('a Grafana variable is left in the expression');
  return { errors, selectors };
}

/** Whether a label value satisfies a matcher (Prometheus regexes are anchored). */
export function matches(matcher: Matcher, value: string | undefined): boolean {
  const actual = value ?? '';
  switch (matcher.op) {
    case '=':
      return actual === matcher.value;
    case '!=':
      return actual !== matcher.value;
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(actual);
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(actual);
    default:
      throw new Error(`unknown match operator ${matcher.op}`);
  }
}

// ---------------------------------------------------------------- exposition format

/** What one /metrics endpoint exposes: every series name, and the label names seen on each. */
export interface Exposition {
  job: string;
  url: string;
  /** Sample names, and the _bucket/_sum/_count (or _total) names of every declared family, samples or not. */
  names: Set<string>;
  labels: Map<string, Set<string>>;
}

const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  counter: [''],
  gauge: [''],
  untyped: [''],
};

export function parseExposition(job: string, url: string, body: string): Exposition {
  const names = new Set<string>();
  const labels = new Map<string, Set<string>>();
  for (const line of body.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      for (const suffix of SUFFIXES[type[2]!] ?? ['']) names.add(`${type[1]}${suffix}`);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) continue;
    const name = sample[1]!;
    names.add(name);
    const seen = labels.get(name) ?? new Set<string>();
    for (const match of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) seen.add(match[1]!);
    labels.set(name, seen);
  }
  return { job, url, names, labels };
}

export async function scrape(job: string, url: string): Promise<Exposition> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return parseExposition(job, url, await response.text());
}

/** Series Prometheus itself makes for every target, and labels it attaches. */
export const SYNTHETIC_METRICS = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'ALERTS']);
/** Labels not looked for on the samples: Prometheus attaches the target's, `__name__` is the name. */
export const UNCHECKED_LABELS = new Set(['job', 'instance', '__name__']);

/**
 * Problems with the metric names and label names a selector uses, against what the targets its `job` matcher
 * selects really expose. Recording-rule outputs are checked by their own expressions instead.
 */
export function checkSelector(selector: Selector, expositions: Exposition[], recorded: Set<string>): string[] {
  const metric = selector.metric!;
  if (recorded.has(metric) || SYNTHETIC_METRICS.has(metric)) return [];
  const jobMatcher = selector.matchers.find((matcher) => matcher.label === 'job');
  const targets = expositions.filter((exposition) => !jobMatcher || matches(jobMatcher, exposition.job));
  if (targets.length === 0) return [`${selector.text}: its job matcher selects no Warren target`];
  const exposing = targets.filter((exposition) => exposition.names.has(metric));
  if (exposing.length === 0) {
    return [`${metric} is not exposed by ${targets.map((target) => target.job).join(', ')} (${selector.text})`];
  }
  const problems: string[] = [];
  for (const matcher of selector.matchers) {
    if (UNCHECKED_LABELS.has(matcher.label)) continue;
    // The label sets seen on the samples; a family without samples yet (a counter never incremented) is not judged.
    const seen = exposing.flatMap((exposition) => [...(exposition.labels.get(metric) ?? [])]);
    const sampled = exposing.some((exposition) => exposition.labels.has(metric));
    if (sampled && !seen.includes(matcher.label)) {
      problems.push(`${metric} has no label ${matcher.label} (${selector.text})`);
    }
  }
  return problems;
}
