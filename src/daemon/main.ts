import { errorMessage } from '../common/errors.js';
import { log } from '../common/log.js';
import { ENGINE_VERSION } from '../common/version.js';
import { OPTIONS } from './config/options.js';
import { loadConfig, parseCommandLine } from './config/parse.js';
import { Daemon, applyLogLevel } from './daemon.js';

function usage(): string {
  const lines = OPTIONS.map((o) => {
    const flag = `--${o.flag ?? o.key}`;
    return `  ${o.short ? `-${o.short}, ` : '    '}${flag.padEnd(30)} ${o.description}`;
  });
  return [
    'Usage:\tberthd [OPTIONS]',
    '',
    'A self-sufficient runtime for containers, compatible with the Docker Engine API.',
    '',
    'Options:',
    `      ${'--config-file string'.padEnd(30)} Daemon configuration file (default "/etc/berth/daemon.json")`,
    ...lines,
    `      ${'--validate'.padEnd(30)} Validate daemon configuration and exit`,
    `  -v, ${'--version'.padEnd(30)} Print version information and quit`,
  ].join('\n');
}

function fatal(message: string): never {
  process.stderr.write(`berthd: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let daemon: Daemon;
  try {
    const commandLine = parseCommandLine(process.argv.slice(2));
    if (commandLine.help) {
      process.stdout.write(usage() + '\n');
      return;
    }
    if (commandLine.version) {
      process.stdout.write(`berthd version ${ENGINE_VERSION}\n`);
      return;
    }
    const config = loadConfig(commandLine);
    if (commandLine.validate) {
      process.stdout.write('configuration OK\n');
      return;
    }
    applyLogLevel(config);
    daemon = new Daemon(config, commandLine);
  } catch (err) {
    fatal(errorMessage(err));
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    daemon
      .shutdown()
      .then(() => process.exit(0))
      .catch((err: unknown) => fatal(`shutdown failed: ${errorMessage(err)}`));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => void daemon.reload());
  try {
    await daemon.start();
  } catch (err) {
    log.error('failed to start daemon', { error: errorMessage(err) });
    await daemon.shutdown().catch(() => undefined);
    fatal(`failed to start daemon: ${errorMessage(err)}`);
  }
}

void main();
