import type { IncomingMessage } from 'node:http';

const rules: ((request: IncomingMessage) => boolean)[] = [];

/**
 * Adds a rule for incoming requests that get no span (beside the operations endpoints, which never do): the
 * gateway's load shedding, whose refusals are counted, not traced, since a span would cost more than the refusal.
 */
export function doNotTraceRequestsWhen(rule: (request: IncomingMessage) => boolean): void {
  rules.push(rule);
}

/** Whether a rule added by doNotTraceRequestsWhen says no span for this request. */
export function isUntracedRequest(request: IncomingMessage): boolean {
  return rules.some((rule) => rule(request));
}
