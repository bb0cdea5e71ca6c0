/**
 * The rpc benchmark's floor: the same echo round trip with the bare amqplib
 * client and server of ../core/bare-amqp.ts. Parse, stringify, reply, ack.
 */
import type { ChannelModel } from 'amqplib';
import { DirectReplyClient, connectBare, serveQueue } from '../core/bare-amqp';
import { SERVER_PREFETCH } from './echo';

/** The floor's caller: one request to the floor queue, its reply parsed. */
export class FloorEchoClient {
  private constructor(
    private readonly client: DirectReplyClient<unknown>,
    private readonly queue: string,
  ) {}

  static async open(amqpUrl: string, queue: string): Promise<FloorEchoClient> {
    const client = await DirectReplyClient.open(amqpUrl, (reply): unknown =>
      JSON.parse(reply.content.toString('utf8')),
    );
    return new FloorEchoClient(client, queue);
  }

  call(payload: unknown): Promise<unknown> {
    return this.client.call(this.queue, Buffer.from(JSON.stringify(payload)));
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Starts the bare echo consumer on its own queue; closing the connection stops it. */
export async function startFloorEchoServer(amqpUrl: string, queue: string): Promise<ChannelModel> {
  const connection = await connectBare(amqpUrl);
  await serveQueue(connection, queue, SERVER_PREFETCH, (content) => ({
    content: JSON.stringify(JSON.parse(content.toString('utf8'))),
  }));
  return connection;
}
