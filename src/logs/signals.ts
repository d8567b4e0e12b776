/**
 * In-process notifications from a log's writer to its followers: 'data'
 * after appended bytes reached the file, 'rotated' right after a new current
 * file was created (emitted synchronously, so a follower opens it before
 * anything is written to it and cannot skip a generation).
 */
import { EventEmitter } from 'node:events';

const channels = new Map<string, EventEmitter>();

export function logSignals(logPath: string): EventEmitter {
  let channel = channels.get(logPath);
  if (!channel) {
    channel = new EventEmitter();
    channel.setMaxListeners(0);
    channels.set(logPath, channel);
  }
  return channel;
}

/** Forgets a channel nobody listens to any more. */
export function releaseLogSignals(logPath: string): void {
  const channel = channels.get(logPath);
  if (channel && channel.listenerCount('data') + channel.listenerCount('rotated') === 0)
    channels.delete(logPath);
}
