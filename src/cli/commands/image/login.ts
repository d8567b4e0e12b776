import { Command } from 'commander';
import type { AuthConfig, AuthResponse } from '../../../types/system.js';
import { CliError, type CliContext } from '../../context.js';
import { HUB_SERVER, configFilePath, readConfigFile, writeConfigFile } from './auth.js';

interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The config key for a `docker login` server argument: Docker Hub's URL for its names. */
export function loginServerKey(server: string | undefined): string {
  if (!server) return HUB_SERVER;
  const host = server.replace(/^[a-z]+:\/\//i, '').split('/')[0];
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host) ? HUB_SERVER : server;
}

export function loginCommand(ctx: CliContext): Command {
  return new Command('login')
    .description('Authenticate to a registry')
    .usage('[OPTIONS] [SERVER]')
    .argument('[server]')
    .option('-u, --username <string>', 'Username')
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
    .action(async (server: string | undefined, options: LoginOptions) => {
      let password = options.password;
      if (options.password !== undefined) {
        ctx.err.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
        if (options.passwordStdin)
          throw new CliError('--password and --password-stdin are mutually exclusive');
      }
      if (options.passwordStdin) {
        if (!options.username) throw new CliError('Must provide --username with --password-stdin');
        password = (await readStdin()).replace(/\r?\n$/, '').replace(/\r$/, '');
      }
      if (!options.username || password === undefined) {
        throw new CliError('Error: Cannot perform an interactive login from a non TTY device');
      }
      const serverAddress = loginServerKey(server);
      const auth: AuthConfig = { username: options.username, password, serveraddress: serverAddress };
      const response = await ctx.client().json<AuthResponse>('POST', '/auth', { body: auth });
      const file = configFilePath(ctx);
      const config = readConfigFile(file);
      const stored: Record<string, string> = response.IdentityToken
        ? {
            auth: Buffer.from(`${options.username}:`).toString('base64'),
            identitytoken: response.IdentityToken,
          }
        : { auth: Buffer.from(`${options.username}:${password}`).toString('base64') };
      config.auths = { ...config.auths, [serverAddress]: stored };
      writeConfigFile(file, config);
      ctx.err.write(
        `WARNING! Your credentials are stored unencrypted in '${file}'.\n` +
          'Configure a credential helper to remove this warning. See\n' +
          'https://docs.docker.com/go/credential-store/\n\n',
      );
      ctx.write(`${response.Status}\n`);
    });
}
