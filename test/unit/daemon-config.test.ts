import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { RELOADABLE_KEYS } from '../../src/daemon/config/options.js';
import { loadConfig, parseCommandLine, reloadConfig } from '../../src/daemon/config/parse.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-config-'));
function configFile(name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

describe('berthd command line', () => {
  test('parses dockerd flag names, shorthands and repeats', () => {
    const cmd = parseCommandLine([
      '-H',
      'unix:///a.sock',
      '--host=tcp://127.0.0.1:2375',
      '-D',
      '--label',
      'a=b',
      '--insecure-registry',
      'r:5000',
      '--log-opt',
      'max-size=10m',
      '--add-runtime',
      'crun=/usr/bin/crun',
      '--max-concurrent-downloads',
      '7',
    ]);
    assert.deepEqual(cmd.flags.hosts, ['unix:///a.sock', 'tcp://127.0.0.1:2375']);
    assert.equal(cmd.flags.debug, true);
    assert.deepEqual(cmd.flags.labels, ['a=b']);
    assert.deepEqual(cmd.flags['insecure-registries'], ['r:5000']);
    assert.deepEqual(cmd.flags['log-opts'], { 'max-size': '10m' });
    assert.deepEqual(cmd.flags.runtimes, { crun: { path: '/usr/bin/crun' } });
    assert.equal(cmd.flags['max-concurrent-downloads'], 7);
  });

  test('accepts explicit booleans and the -Hvalue form', () => {
    const cmd = parseCommandLine(['--live-restore=false', '-Hunix:///x.sock']);
    assert.equal(cmd.flags['live-restore'], false);
    assert.deepEqual(cmd.flags.hosts, ['unix:///x.sock']);
  });

  test('refuses unknown flags and missing values', () => {
    assert.throws(() => parseCommandLine(['--nope']), /unknown flag: --nope/);
    assert.throws(() => parseCommandLine(['--data-root']), /flag needs an argument/);
    assert.throws(() => parseCommandLine(['--max-concurrent-uploads', 'x']), /invalid argument "x"/);
    assert.throws(() => parseCommandLine(['positional']), /positional/);
  });
});

describe('daemon.json', () => {
  test('file values apply and flags add to them', () => {
    const file = configFile(
      'ok.json',
      JSON.stringify({ debug: true, labels: ['x=y'], 'registry-mirrors': ['http://127.0.0.1:5000'] }),
    );
    const config = loadConfig(parseCommandLine(['--config-file', file, '--data-root', '/tmp/d']));
    assert.equal(config.debug, true);
    assert.deepEqual(config.labels, ['x=y']);
    assert.equal(config['data-root'], '/tmp/d');
    assert.equal(config['exec-root'], '/var/run/berth');
  });

  test('an unknown key is refused by name', () => {
    const file = configFile('unknown.json', JSON.stringify({ 'no-such-option': 1 }));
    assert.throws(
      () => loadConfig(parseCommandLine(['--config-file', file])),
      /don't match any configuration option: no-such-option/,
    );
  });

  test('an option given as a flag and in the file is refused, naming it', () => {
    const file = configFile('conflict.json', JSON.stringify({ debug: false }));
    assert.throws(
      () => loadConfig(parseCommandLine(['--config-file', file, '--debug'])),
      /specified both as a flag and in the configuration file: debug: \(from flag: true, from file: false\)/,
    );
  });

  test('malformed JSON is a clear error', () => {
    const file = configFile('bad.json', '{"debug": tru');
    assert.throws(
      () => loadConfig(parseCommandLine(['--config-file', file])),
      /unable to configure the berth daemon with file .*bad\.json/,
    );
  });

  test('invalid values are refused', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ 'log-level': 'loud' }, /invalid log level: loud/],
      [{ debug: 'yes' }, /invalid value for debug/],
      [{ hosts: ['tcp://:x'] }, /Invalid bind address format: tcp:\/\/:x/],
      [{ hosts: ['foo://bar'] }, /Invalid bind address format: foo:\/\/bar/],
      [{ bip: '10.0.0.1' }, /invalid bip/],
      [{ 'default-address-pools': [{ base: '10.0.0.0/8', size: 4 }] }, /invalid default address pool size/],
      [{ 'registry-mirrors': ['ftp://x'] }, /unsupported scheme/],
      [{ 'default-runtime': 'crun' }, /default runtime crun does not exist/],
      [{ 'log-driver': 'syslog' }, /logging driver not supported: syslog/],
      [{ 'max-concurrent-downloads': -1 }, /invalid max concurrent downloads/],
    ];
    for (const [content, expected] of cases) {
      const file = configFile('invalid.json', JSON.stringify(content));
      assert.throws(
        () => loadConfig(parseCommandLine(['--config-file', file])),
        expected,
        JSON.stringify(content),
      );
    }
  });

  test('a missing default file is fine, a missing explicit file is not', () => {
    assert.throws(
      () => loadConfig(parseCommandLine(['--config-file', path.join(dir, 'absent.json')])),
      /no such file/,
    );
  });

  test('reload changes only reloadable options', () => {
    const file = configFile('reload.json', JSON.stringify({ debug: false, bip: '10.66.0.1/24' }));
    const cmd = parseCommandLine(['--config-file', file]);
    const running = loadConfig(cmd);
    writeFileSync(file, JSON.stringify({ debug: true, bip: '10.77.0.1/24', labels: ['k=v'] }));
    const { config, changed } = reloadConfig(cmd, running, RELOADABLE_KEYS);
    assert.equal(config.debug, true);
    assert.deepEqual(config.labels, ['k=v']);
    assert.equal(config.bip, '10.66.0.1/24');
    assert.deepEqual(changed.sort(), ['debug', 'labels']);
  });
});

describe('default bridge options', () => {
  test('-b and --mtu are accepted and validated', () => {
    const cmd = parseCommandLine(['-b', 'berthtest0', '--mtu', '1400']);
    assert.equal(cmd.flags.bridge, 'berthtest0');
    assert.equal(cmd.flags.mtu, 1400);
    const bad = configFile('bridge.json', JSON.stringify({ bridge: 'this-name-is-far-too-long', mtu: 10 }));
    assert.throws(() => loadConfig(parseCommandLine(['--config-file', bad])), /invalid bridge name/);
  });
});
