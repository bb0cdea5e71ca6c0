/** What a WriteGate listens to: an amqplib channel. */
export interface WritableChannel {
  on(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * A channel's write backpressure, honoured. amqplib's `publish` returns false once the channel's write buffer is full
 * (1024 frames queued behind a socket that does not keep up: a flow-controlled broker, a slow or silent link); the
 * message is buffered all the same, and the channel emits 'drain' once there is room again. Publishing on regardless
 * grows the process's memory without bound and sends stale messages when the link comes back. A WriteGate runs each
 * write at once while the channel has room, otherwise holds it until a 'drain', in the order written; writes still
 * held when the channel closes are dropped (`write` resolves false), since nothing can be sent on it any more. What is
 * held stays held until one of the two: a link that stays silent ends with its heartbeat, a broker that blocks
 * publishing says so (connection.blocked), and RpcClient then refuses new calls.
 */
export class WriteGate {
  private full = false;
  private closed = false;
  private readonly held: HeldWrite[] = [];

  constructor(channel: WritableChannel) {
    channel.on('drain', () => this.flush());
    channel.on('close', () => this.drop());
  }

  /** True while a write would be held rather than run. */
  get isHolding(): boolean {
    return this.full || this.held.length > 0;
  }

  /**
   * Runs `write` now, or after the 'drain' it must wait for. `write` publishes and returns what publish returned; it
   * must not throw. Resolves true once it ran, false if the channel closed first.
   */
  write(write: () => boolean): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (!this.isHolding) {
      this.full = !write();
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.held.push({ write, done: resolve }));
  }

  private flush(): void {
    this.full = false;
    while (!this.full && this.held.length > 0) {
      const { write, done } = this.held.shift()!;
      // A write that breaks its promise not to throw must not take the gate (and the 'drain' handler) down with it.
      try {
        this.full = !write();
        done(true);
      } catch {
        done(false);
      }
    }
  }

  private drop(): void {
    this.closed = true;
    for (const { done } of this.held.splice(0)) done(false);
  }
}

interface HeldWrite {
  write(): boolean;
  done(ran: boolean): void;
}
