/**
 * A small HTTP/1.1 keep-alive client over bare TCP sockets, for the load
 * generator. node:http's client costs several times more CPU per request,
 * which on a small machine would be taken from the servers being measured;
 * this one only writes prepared request bytes and reads responses that carry
 * a Content-Length (both servers under test always send one). One request at
 * a time per connection, no pipelining.
 */
import { connect, type Socket } from 'node:net';

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  body: Buffer;
  /** When the request was written to its connection (performance.now()), after any wait for one. */
  sentAt: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONNECT_TIMEOUT_MS = 5000;

interface PendingResponse {
  resolve(response: HttpResponse): void;
  reject(error: Error): void;
  sentAt: number;
}

export class HttpConnection {
  /** False once the socket failed or the server closed it; such a connection is never reused. */
  alive = true;
  lastUsedAt = 0;
  private pending: PendingResponse | null = null;
  private received: Buffer = Buffer.alloc(0);

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static open(host: string, port: number): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(
        () => socket.destroy(new Error(`connect to ${host}:${port} timed out`)),
        CONNECT_TIMEOUT_MS,
      );
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new HttpConnection(socket));
      });
    });
  }

  /** Sends one complete request and resolves with its response. */
  request(bytes: Buffer): Promise<HttpResponse> {
    if (!this.alive) return Promise.reject(new Error('connection is closed'));
    if (this.pending) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, sentAt: performance.now() };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.alive = false;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const pending = this.pending;
    if (!pending) {
      this.fail(new Error('the server sent bytes nobody asked for'));
      return;
    }
    let response: Omit<HttpResponse, 'sentAt'> | null;
    try {
      response = parseResponse(this.received);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!response) return; // not all of it yet
    this.received = Buffer.alloc(0);
    this.pending = null;
    this.lastUsedAt = performance.now();
    if (response.headers.get('connection')?.toLowerCase() === 'close') this.close();
    pending.resolve({ ...response, sentAt: pending.sentAt });
  }

  private fail(error: Error): void {
    this.alive = false;
    const pending = this.pending;
    this.pending = null;
    if (!this.socket.destroyed) this.socket.destroy();
    pending?.reject(error);
  }
}

/** The response in `bytes` once it is complete, null while more is to come; throws on what it cannot read. */
export function parseResponse(bytes: Buffer): Omit<HttpResponse, 'sentAt'> | null {
  const headerEnd = bytes.indexOf(HEADER_END);
  if (headerEnd === -1) return null;
  const head = bytes.toString('latin1', 0, headerEnd);
  const lines = head.split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!statusLine) throw new Error(`not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!;
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length'));
  if (!Number.isInteger(length) || length < 0) {
    throw new Error(`response without a usable Content-Length (transfer-encoding ${headers.get('transfer-encoding')})`);
  }
  const bodyStart = headerEnd + HEADER_END.length;
  if (bytes.length < bodyStart + length) return null;
  if (bytes.length > bodyStart + length) throw new Error('more bytes than the response announced');
  return { status: Number(statusLine[1]), headers, body: bytes.subarray(bodyStart) };
}

/**
 * Keep-alive connections to one server, at most `maxConnections` of them;
 * requests beyond that wait their turn here. A connection idle longer than
 * `idleLimitMs` is dropped rather than reused, before the server's own
 * keep-alive timeout (Node's is 5 s) can close it under a request.
 */
export class HttpPool {
  private readonly idle: HttpConnection[] = [];
  private readonly waiting: ((connection: HttpConnection | Error) => void)[] = [];
  private connections = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly maxConnections: number,
    private readonly idleLimitMs = 3000,
  ) {}

  /** Requests waiting for a connection, not yet sent. */
  get queued(): number {
    return this.waiting.length;
  }

  get openConnections(): number {
    return this.connections;
  }

  async request(bytes: Buffer): Promise<HttpResponse> {
    const connection = await this.acquire();
    try {
      return await connection.request(bytes);
    } finally {
      this.release(connection);
    }
  }

  close(): void {
    for (const connection of this.idle.splice(0)) connection.close();
    for (const waiter of this.waiting.splice(0)) waiter(new Error('pool closed'));
  }

  private async acquire(): Promise<HttpConnection> {
    const now = performance.now();
    // Last in, first out: the connections in use stay warm and the others age out.
    for (let connection = this.idle.pop(); connection; connection = this.idle.pop()) {
      if (connection.alive && now - connection.lastUsedAt < this.idleLimitMs) return connection;
      connection.close();
      this.connections--;
    }
    if (this.connections < this.maxConnections) return this.openConnection();
    const next = await new Promise<HttpConnection | Error>((resolve) => this.waiting.push(resolve));
    if (next instanceof Error) throw next;
    return next;
  }

  private async openConnection(): Promise<HttpConnection> {
    this.connections++;
    try {
      return await HttpConnection.open(this.host, this.port);
    } catch (error) {
      this.connections--;
      throw error;
    }
  }

  private release(connection: HttpConnection): void {
    if (!connection.alive) {
      this.connections--;
      const waiter = this.waiting.shift();
      // A waiter gets a fresh connection in place of the dead one.
      if (waiter) this.openConnection().then(waiter, waiter);
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter(connection);
    else this.idle.push(connection);
  }
}
