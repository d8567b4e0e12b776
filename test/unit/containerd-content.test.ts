/**
 * Content.Write's hand-encoded, hand-framed WRITE messages: what containerd decodes from
 * them must be what protobufjs would have sent (action, ref, offset, data),
 * across message boundaries and for offsets past 32 bits.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WriteMessages } from '../../src/containerd/services/content.js';
import { protoRoot } from '../../src/containerd/proto.js';

interface DecodedWrite {
  action: string;
  ref: string;
  offset: number;
  data: Buffer;
}

/** The message inside a gRPC frame, after checking the frame's prefix. */
function decode(frame: Buffer): DecodedWrite {
  assert.equal(frame[0], 0, 'uncompressed');
  assert.equal(frame.readUInt32BE(1), frame.length - 5, 'prefix gives the message length');
  const message = frame.subarray(5);
  const type = protoRoot().lookupType('containerd.services.content.v1.WriteContentRequest');
  const decoded = type.toObject(type.decode(message), { enums: String, longs: Number, defaults: true });
  // A copy: the message buffer is reused once released.
  return { ...decoded, data: Buffer.from(decoded.data as Uint8Array) } as DecodedWrite;
}

describe('WriteMessages', () => {
  test('packs pieces of any size into WRITEs of chunkSize bytes at running offsets', () => {
    const messages = new WriteMessages('berth-pull-sha256:abc', 1000);
    const pieces = [300, 1, 2500, 699, 64, 7].map((n) => randomBytes(n));
    const sent: DecodedWrite[] = [];
    let offset = 0;
    for (const piece of pieces) {
      for (let rest = messages.fill(piece); messages.full; rest = messages.fill(rest)) {
        const { frame, length, release } = messages.take(offset);
        sent.push(decode(frame));
        offset += length;
        release();
      }
    }
    if (messages.filled > 0) sent.push(decode(messages.take(offset).frame));
    assert.deepEqual(
      sent.map((m) => [m.action, m.ref, m.offset, m.data.length]),
      [
        ['WRITE', 'berth-pull-sha256:abc', 0, 1000],
        ['WRITE', 'berth-pull-sha256:abc', 1000, 1000],
        ['WRITE', 'berth-pull-sha256:abc', 2000, 1000],
        ['WRITE', 'berth-pull-sha256:abc', 3000, 571],
      ],
    );
    assert.deepEqual(Buffer.concat(sent.map((m) => m.data)), Buffer.concat(pieces));
  });

  test('encodes offsets beyond 32 bits and refs longer than 127 bytes', () => {
    const ref = `berth-${'r'.repeat(300)}`;
    const messages = new WriteMessages(ref, 16);
    const data = randomBytes(16);
    messages.fill(data);
    const offset = 2 ** 40 + 3;
    const decoded = decode(messages.take(offset).frame);
    assert.deepEqual(decoded, { ...decoded, action: 'WRITE', ref, offset });
    assert.deepEqual(decoded.data, data);
  });

  test('a released buffer is reused for the next message', () => {
    const messages = new WriteMessages('ref', 8);
    messages.fill(Buffer.from('01234567'));
    const first = messages.take(0);
    first.release();
    messages.fill(Buffer.from('abcdefgh'));
    const second = messages.take(8);
    assert.equal(second.frame.buffer, first.frame.buffer);
    assert.equal(second.frame.byteOffset, first.frame.byteOffset);
    assert.equal(decode(second.frame).data.toString(), 'abcdefgh');
  });
});
