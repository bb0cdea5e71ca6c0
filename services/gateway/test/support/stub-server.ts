import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** An HTTP server on loopback answering with `handler`: a broken identity provider, for the auth tests. */
export async function startStubServer(handler: RequestListener): Promise<StubServer> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Also the requests the handler never answers.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A URL where nothing listens: a server started and closed again. */
export async function closedServerUrl(): Promise<string> {
  const server = await startStubServer((_req, res) => res.end());
  await server.close();
  return server.url;
}
