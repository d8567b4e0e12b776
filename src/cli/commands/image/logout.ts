import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { HUB_SERVER, configFilePath, convertToHostname, readConfigFile, writeConfigFile } from './auth.js';
import { loginServerKey } from './login.js';

export function logoutCommand(ctx: CliContext): Command {
  return new Command('logout')
    .description('Log out from a registry')
    .usage('[SERVER]')
    .argument('[server]')
    .action(async (server: string | undefined) => {
      const serverAddress = loginServerKey(server);
      const hostname = serverAddress === HUB_SERVER ? HUB_SERVER : convertToHostname(serverAddress);
      const file = configFilePath(ctx);
      const config = readConfigFile(file);
      if (!config.auths?.[serverAddress]) {
        ctx.write(`Not logged in to ${hostname}\n`);
        return;
      }
      ctx.write(`Removing login credentials for ${hostname}\n`);
      const candidates =
        serverAddress === HUB_SERVER
          ? [serverAddress]
          : [serverAddress, hostname, `http://${hostname}`, `https://${hostname}`];
      for (const key of candidates) delete config.auths[key];
      writeConfigFile(file, config);
    });
}
