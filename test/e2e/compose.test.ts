/**
 * docker-compose 1.29 (Debian's, built on docker-py), unchanged, against
 * berthd: a busybox httpd with a published loopback port and a named volume,
 * a client that depends on it and fetches it by service name over the
 * project network; up -d, ps, port, logs, exec, down -v, and nothing left.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, runCommand, startDaemon, type CommandResult, type TestDaemon } from '../helpers/daemon.js';
import { BUSYBOX_IMAGE, seedBusybox } from '../helpers/busybox.js';
import { httpGetText } from '../helpers/loopback.js';

const PROJECT = 'berthe2e';

const COMPOSE_FILE = `
version: "3.8"
services:
  web:
    image: ${BUSYBOX_IMAGE}
    command: ["sh", "-c", "echo \\"$$GREETING from web\\" > /www/index.html && echo web-ready && exec httpd -f -p 8080 -h /www"]
    environment:
      GREETING: \${GREETING:-hello}
    ports:
      - "127.0.0.1::8080"
    volumes:
      - www:/www
  client:
    image: ${BUSYBOX_IMAGE}
    depends_on:
      - web
    environment:
      - TARGET=http://web:8080/index.html
    command: ["sh", "-c", "until wget -q -O /tmp/page $$TARGET; do usleep 200000; done; cat /tmp/page; exec sleep 600"]
volumes:
  www: {}
`;

let daemon: TestDaemon;
let projectDir: string;

function compose(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return runCommand('docker-compose', ['--project-name', PROJECT, '--ansi', 'never', ...args], {
    env: { DOCKER_HOST: daemon.host, COMPOSE_FILE: path.join(projectDir, 'docker-compose.yml'), ...env },
    timeoutMs: 90_000,
  });
}

function ok(result: CommandResult): string {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

/** The names docker lists for one kind of object that belong to the project. */
async function projectObjects(kind: 'container' | 'network' | 'volume'): Promise<string[]> {
  const args =
    kind === 'container' ? ['ps', '-a', '--format', '{{.Names}}'] : [kind, 'ls', '--format', '{{.Name}}'];
  const out = ok(await docker(daemon, [...args, '--filter', `label=com.docker.compose.project=${PROJECT}`]));
  return out.split('\n').filter(Boolean).sort();
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(200);
  }
}

before(async () => {
  // A bridge of its own: other berthds on this host keep berth0.
  daemon = await startDaemon({ config: { bridge: 'berthcomp0' } });
  await seedBusybox(daemon);
  projectDir = mkdtempSync(path.join(os.tmpdir(), 'berth-compose-'));
  writeFileSync(path.join(projectDir, 'docker-compose.yml'), COMPOSE_FILE);
});

after(async () => {
  if (daemon && projectDir) await compose(['down', '-v', '--timeout', '1']);
  await daemon?.stop();
  if (projectDir) rmSync(projectDir, { recursive: true, force: true });
});

describe('docker-compose', () => {
  test('up -d creates the network, volume and both containers, web before client', async () => {
    const up = await compose(['up', '-d']);
    ok(up);
    const created = up.stderr
      .split(/\r?\n/)
      .filter((l) => /^Creating /.test(l) && !/ \.\.\. \r?$/.test(l))
      .map((l) => l.replace(/\r$/, ''));
    assert.deepEqual(created, [
      `Creating network "${PROJECT}_default" with the default driver`,
      `Creating volume "${PROJECT}_www" with default driver`,
      `Creating ${PROJECT}_web_1 ... done`,
      `Creating ${PROJECT}_client_1 ... done`,
    ]);
    assert.deepEqual(await projectObjects('network'), [`${PROJECT}_default`]);
    assert.deepEqual(await projectObjects('volume'), [`${PROJECT}_www`]);
    assert.deepEqual(await projectObjects('container'), [`${PROJECT}_client_1`, `${PROJECT}_web_1`]);
  });

  test('ps lists both services up, with the published port', async () => {
    const out = ok(await compose(['ps']));
    const web = out.split('\n').find((l) => l.startsWith(`${PROJECT}_web_1`));
    const client = out.split('\n').find((l) => l.startsWith(`${PROJECT}_client_1`));
    assert.match(web ?? '', /\bUp\b.*127\.0\.0\.1:\d+->8080\/tcp/, out);
    assert.match(client ?? '', /\bUp\b/, out);
    const services = ok(await compose(['ps', '--services']))
      .split('\n')
      .filter(Boolean)
      .sort();
    assert.deepEqual(services, ['client', 'web']);
  });

  test('the published port serves the page from the named volume', async () => {
    const mapping = ok(await compose(['port', 'web', '8080'])).trim();
    const match = /^127\.0\.0\.1:(\d+)$/.exec(mapping);
    assert.ok(match, mapping);
    assert.equal(await httpGetText(Number(match[1]), '/index.html'), 'hello from web\n');
  });

  test('logs: the client fetched web by service name', async () => {
    await eventually(
      async () => ok(await compose(['logs', '--no-color', 'client'])).includes('hello from web'),
      'the client log line',
    );
    const all = ok(await compose(['logs', '--no-color']));
    assert.match(all, /web_1\s+\| web-ready/);
    assert.match(all, /client_1\s+\| hello from web/);
  });

  test('exec runs in the service container with its environment', async () => {
    assert.equal(ok(await compose(['exec', '-T', 'web', 'sh', '-c', 'echo $GREETING'])), 'hello\n');
    assert.equal(ok(await compose(['exec', '-T', 'web', 'cat', '/www/index.html'])), 'hello from web\n');
    const failed = await compose(['exec', '-T', 'client', 'sh', '-c', 'exit 3']);
    assert.equal(failed.code, 3);
    const fetched = ok(await compose(['exec', '-T', 'client', 'wget', '-q', '-O', '-', 'http://web:8080/']));
    assert.equal(fetched, 'hello from web\n');
  });

  test('up -d after a change recreates web; the volume keeps its data', async () => {
    const before = ok(await compose(['ps', '-q', 'web'])).trim();
    const up = await compose(['up', '-d', 'web'], { GREETING: 'changed' });
    ok(up);
    assert.match(up.stderr, new RegExp(`Recreating ${PROJECT}_web_1 \\.\\.\\. done`), up.stderr);
    const after = ok(await compose(['ps', '-q', 'web'])).trim();
    assert.notEqual(after, before);
    assert.equal(ok(await compose(['exec', '-T', 'web', 'cat', '/www/index.html'])), 'changed from web\n');
    assert.deepEqual(await projectObjects('volume'), [`${PROJECT}_www`]);
  });

  test('down -v removes the containers, the network and the volume', async () => {
    const down = await compose(['down', '-v', '--timeout', '1']);
    ok(down);
    assert.deepEqual(await projectObjects('container'), []);
    assert.deepEqual(await projectObjects('network'), []);
    assert.deepEqual(await projectObjects('volume'), []);
    assert.equal(ok(await compose(['ps', '-q'])).trim(), '');
  });
});
