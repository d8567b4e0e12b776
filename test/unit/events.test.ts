import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventsService } from '../../src/engine/events/service.js';

describe('events history', () => {
  test('a burst is recorded whole and in order, and a new service loads it for --since', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-events-'));
    try {
      const file = path.join(dir, 'events.log');
      const events = new EventsService(file);
      await events.load();
      for (let i = 0; i < 50; i++) events.publish('container', 'start', `c${i}`);
      await events.flush();
      assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 50);
      const restarted = new EventsService(file);
      await restarted.load();
      const { past, unsubscribe } = restarted.subscribe({ since: 0, filters: new Map() }, () => undefined);
      unsubscribe();
      assert.deepEqual(
        past.map((e) => e.Actor.ID),
        Array.from({ length: 50 }, (_, i) => `c${i}`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('past the history limit the file is compacted to the bounded history', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-events-'));
    try {
      const file = path.join(dir, 'events.log');
      const events = new EventsService(file);
      await events.load();
      for (let i = 0; i < 1100; i++) events.publish('volume', 'create', `v${i}`);
      await events.flush();
      const restarted = new EventsService(file);
      await restarted.load();
      const { past } = restarted.subscribe({ since: 0, filters: new Map() }, () => undefined);
      assert.equal(past.length, 1024);
      assert.equal(past.at(-1)?.Actor.ID, 'v1099');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
