import type { ScenarioFigures } from './fault-suite';

/** What every run under a fault must show: exactly-once rows, and every request ended 201 (retried with its key). */
export function expectExactlyOnce({ load, audit }: Pick<ScenarioFigures, 'load' | 'audit'>): void {
  expect(audit.duplicated).toEqual([]);
  expect(audit.missing).toEqual([]);
  expect(audit.unkeyed).toEqual([]);
  expect(load.requests).toBeGreaterThan(50);
  expect(load.failed).toBe(0);
  // 500s, 400s, 422s... would be bugs; client-side timeouts would mean a hang.
  expect(load.otherStatuses).toBe(0);
  expect(load.timeouts).toBe(0);
}
