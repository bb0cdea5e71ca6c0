import { EventEmitter } from 'node:events';
import { WriteGate } from './write-gate';

/** A channel whose buffer has room for `room` more writes before publish returns false; 'drain' resets it. */
function fakeChannel(room: number) {
  const channel = Object.assign(new EventEmitter(), { room, written: [] as string[] });
  const publish = (name: string) => () => {
    channel.written.push(name);
    return --channel.room > 0;
  };
  const drain = (room: number) => {
    channel.room = room;
    channel.emit('drain');
  };
  return { channel, publish, drain };
}

describe('WriteGate', () => {
  it('writes at once while publish says there is room', async () => {
    const { channel, publish } = fakeChannel(10);
    const gate = new WriteGate(channel);
    await expect(Promise.all([gate.write(publish('a')), gate.write(publish('b'))])).resolves.toEqual([true, true]);
    expect(channel.written).toEqual(['a', 'b']);
    expect(gate.isHolding).toBe(false);
  });

  it('holds every write after the one publish refused, then writes them in order on drain, as room allows', async () => {
    const { channel, publish, drain } = fakeChannel(1);
    const gate = new WriteGate(channel);
    const first = gate.write(publish('a'));
    const held = ['b', 'c', 'd'].map((name) => gate.write(publish(name)));
    expect(channel.written).toEqual(['a']);
    expect(gate.isHolding).toBe(true);

    drain(2); // room for b; c is written too but fills the buffer again
    expect(channel.written).toEqual(['a', 'b', 'c']);
    expect(gate.isHolding).toBe(true);
    const late = gate.write(publish('e'));

    drain(10);
    expect(channel.written).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(gate.isHolding).toBe(false);
    await expect(Promise.all([first, ...held, late])).resolves.toEqual([true, true, true, true, true]);
  });

  it('goes on with the writes held after one that throws', async () => {
    const { channel, publish, drain } = fakeChannel(1);
    const gate = new WriteGate(channel);
    await gate.write(publish('a'));
    const broken = gate.write(() => {
      throw new Error('channel closed');
    });
    const next = gate.write(publish('c'));
    drain(10);
    await expect(Promise.all([broken, next])).resolves.toEqual([false, true]);
    expect(channel.written).toEqual(['a', 'c']);
    expect(gate.isHolding).toBe(false);
  });

  it('drops what it holds when the channel closes, and writes nothing after', async () => {
    const { channel, publish } = fakeChannel(1);
    const gate = new WriteGate(channel);
    await gate.write(publish('a'));
    const held = gate.write(publish('b'));
    channel.emit('close');
    await expect(held).resolves.toBe(false);
    await expect(gate.write(publish('c'))).resolves.toBe(false);
    expect(channel.written).toEqual(['a']);
  });
});
