import type { Progress } from './program';

export type Cleanup = () => Promise<unknown>;

/**
 * What a run has to undo (processes, connections, queues, rows), registered as it is set up and undone in
 * reverse at the end whatever happened. A failing cleanup is reported and does not stop the others.
 */
export class CleanupStack {
  private readonly cleanups: Cleanup[] = [];

  constructor(private readonly progress: Progress) {}

  defer(cleanup: Cleanup): void {
    this.cleanups.push(cleanup);
  }

  async runAll(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      await cleanup().catch((error: Error) => this.progress(`cleanup: ${error.message}`));
    }
  }
}
