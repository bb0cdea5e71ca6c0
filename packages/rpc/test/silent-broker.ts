import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket | null;
}

/**
 * A loopback TCP proxy in front of the broker that can fall silent the way a paused (SIGSTOP) or wedged broker
 * does: while silent it forwards nothing in either direction and closes nothing, and it still accepts new
 * connections (as a stopped process's kernel does) but holds them without an answer. `restore()` lets every held
 * byte through and connects the held sockets, so a peer that waited through the silence carries on.
 */
export class SilentBrokerProxy {
  /** TCP connections accepted so far, each reconnect attempt of a client included. */
  accepted = 0;
  private silent = false;
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to the broker of `amqpUrl`. */
  static async start(amqpUrl: string): Promise<SilentBrokerProxy> {
    const server = createServer();
    const proxy = new SilentBrokerProxy(server, new URL(amqpUrl));
    server.on('connection', (client: Socket) => proxy.accept(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  /** The broker's AMQP URL (same credentials and vhost) by way of this proxy. */
  get url(): string {
    const url = new URL(this.target);
    url.hostname = '127.0.0.1';
    url.port = String((this.server.address() as AddressInfo).port);
    return url.toString();
  }

  /** From now on nothing passes, and nothing is closed. */
  silence(): void {
    this.silent = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream?.pause();
    }
  }

  /** Everything held passes again; connections whose broker side went away meanwhile are closed now. */
  restore(): void {
    this.silent = false;
    for (const pair of this.pairs) {
      if (!pair.upstream) this.connectUpstream(pair);
      else if (pair.upstream.destroyed) pair.client.destroy();
      pair.client.resume();
      pair.upstream?.resume();
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    const pair: Pair = { client, upstream: null };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    });
    if (this.silent) client.pause();
    else this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = connect(Number(this.target.port || 5672), this.target.hostname);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    // A broker that goes away is passed on, unless the proxy is silent: then the client must find out by itself.
    upstream.on('close', () => {
      if (!this.silent) pair.client.destroy();
    });
    this.forward(pair.client, upstream);
    this.forward(upstream, pair.client);
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!this.silent) from.resume();
    });
  }
}
