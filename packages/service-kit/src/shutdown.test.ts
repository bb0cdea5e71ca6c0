import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainHttpServer } from './shutdown';

interface Answer {
  body?: string;
  connection?: string | undefined;
  error?: string | undefined;
}

function get(port: number, agent: Agent): Promise<Answer> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ body, connection: response.headers.connection }));
    })
      .on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code }))
      .end();
  });
}

describe('drainHttpServer', () => {
  it('answers every request in flight and moves a busy kept-alive client off, so the drain ends at once', async () => {
    let drained: Promise<void> | undefined;
    let drainStartedAt = 0;
    let received = 0;
    const server = createServer((_request, response) => {
      // The drain begins while the third request is being handled.
      if (++received === 3) {
        drainStartedAt = Date.now();
        drained = drainHttpServer(server);
      }
      setTimeout(() => response.end('ok'), 20);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A client that sends one request after another on its kept-alive connection, until it cannot connect.
      const answers: Answer[] = [];
      for (let sent = 0; sent < 10; sent++) {
        const answer = await get(port, agent);
        answers.push(answer);
        if (answer.error) break;
      }
      await drained;
      expect(Date.now() - drainStartedAt).toBeLessThan(1000);
      expect(answers).toEqual([
        { body: 'ok', connection: 'keep-alive' },
        { body: 'ok', connection: 'keep-alive' },
        // In flight when the drain began: answered.
        { body: 'ok', connection: 'keep-alive' },
        // Sent on the open connection during the drain: answered, and the connection closed.
        { body: 'ok', connection: 'close' },
        { error: 'ECONNREFUSED' },
      ]);
    } finally {
      agent.destroy();
      server.close();
    }
  });
});
