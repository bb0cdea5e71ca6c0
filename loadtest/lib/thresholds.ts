/**
 * k6's threshold syntax, parsed as k6 parses it (metrics/thresholds_parser.go): `metric{tag:value,…}` selects a
 * metric or a sub-metric (tags split on ",", each on its first ":", trimmed, quotes stripped), and an expression is
 * `aggregation operator number`, the operators tried in the order <=, <, >=, >, ===, ==, !=. The Node engine
 * evaluates them; the unit tests parse every threshold of data/scenarios.json with it.
 */

export type Aggregation = 'value' | 'count' | 'rate' | 'avg' | 'min' | 'med' | 'max' | { percentile: number };
export type Operator = '<=' | '<' | '>=' | '>' | '===' | '==' | '!=';

export interface MetricSelector {
  metric: string;
  tags: Record<string, string>;
}

export interface ThresholdExpression {
  source: string;
  aggregation: Aggregation;
  operator: Operator;
  value: number;
}

export class ThresholdSyntaxError extends Error {
  readonly code = 'THRESHOLD_SYNTAX';
}

const OPERATORS: readonly Operator[] = ['<=', '<', '>=', '>', '===', '==', '!='];
// k6 trims spaces, then any quote characters at either end (strings.Trim(v, "\"'")).
const unquote = (text: string) => text.trim().replace(/^["']+|["']+$/g, '');

export function parseSelector(key: string): MetricSelector {
  const brace = key.indexOf('{');
  if (brace === -1) return { metric: key, tags: {} };
  if (!key.endsWith('}')) throw new ThresholdSyntaxError(`${key}: a tag filter must end with "}"`);
  const tags: Record<string, string> = {};
  for (const pair of key.slice(brace + 1, -1).split(',')) {
    const colon = pair.indexOf(':');
    if (colon === -1) throw new ThresholdSyntaxError(`${key}: "${pair}" is not tag:value`);
    const [tag, value] = [unquote(pair.slice(0, colon)), unquote(pair.slice(colon + 1))];
    if (tag === '' || value === '') throw new ThresholdSyntaxError(`${key}: "${pair}" has an empty tag or value`);
    tags[tag] = value;
  }
  return { metric: key.slice(0, brace), tags };
}

export function parseExpression(source: string): ThresholdExpression {
  const operator = OPERATORS.find((candidate) => source.includes(candidate));
  if (!operator) throw new ThresholdSyntaxError(`${source}: no comparison operator`);
  const at = source.indexOf(operator);
  const left = source.slice(0, at).trim();
  const right = source.slice(at + operator.length).trim();
  const value = Number(right);
  if (right === '' || !Number.isFinite(value)) throw new ThresholdSyntaxError(`${source}: "${right}" is not a number`);
  return { source, aggregation: parseAggregation(left, source), operator, value };
}

function parseAggregation(text: string, source: string): Aggregation {
  if (['value', 'count', 'rate', 'avg', 'min', 'med', 'max'].includes(text)) return text as Aggregation;
  const percentile = /^p\(([^)]+)\)$/.exec(text);
  const level = percentile ? Number(percentile[1]) : NaN;
  if (!Number.isFinite(level) || level < 0 || level > 100) {
    throw new ThresholdSyntaxError(`${source}: "${text}" is not value, count, rate, avg, min, med, max or p(0..100)`);
  }
  return { percentile: level };
}

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

/** The aggregations k6 allows per metric type; any other is a configuration error (exit 104 in k6). */
export function allowedFor(type: MetricType, aggregation: Aggregation): boolean {
  if (typeof aggregation === 'object') return type === 'trend';
  const allowed: Record<MetricType, readonly string[]> = {
    counter: ['count', 'rate'],
    gauge: ['value'],
    rate: ['rate'],
    trend: ['avg', 'min', 'max', 'med'],
  };
  return allowed[type].includes(aggregation);
}

export const aggregationName = (aggregation: Aggregation): string =>
  typeof aggregation === 'object' ? `p(${aggregation.percentile})` : aggregation;

/** The comparison; NaN (a rate of no samples) satisfies nothing but !=. */
export function holds(expression: ThresholdExpression, actual: number): boolean {
  const { operator, value } = expression;
  switch (operator) {
    case '<=':
      return actual <= value;
    case '<':
      return actual < value;
    case '>=':
      return actual >= value;
    case '>':
      return actual > value;
    case '===':
    case '==':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}
