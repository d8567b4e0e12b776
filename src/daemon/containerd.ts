import { ContainerdClient } from '../containerd/client.js';
import { ContainerdSupervisor } from '../containerd/supervisor.js';
import { log } from '../common/log.js';
import type { DaemonConfig } from './config/options.js';

/**
 * berthd's link to containerd: either one it supervises under its own
 * exec-root and data-root, or an external one given with --containerd.
 */
export class ContainerdConnection {
  private supervisor?: ContainerdSupervisor;
  private clientInstance?: ContainerdClient;

  constructor(private readonly config: DaemonConfig) {}

  get client(): ContainerdClient {
    if (!this.clientInstance) throw new Error('containerd is not connected yet');
    return this.clientInstance;
  }

  async start(): Promise<void> {
    let address = this.config.containerd;
    if (!address) {
      this.supervisor = new ContainerdSupervisor({
        execRoot: this.config['exec-root'],
        dataRoot: this.config['data-root'],
        debug: this.config.debug,
      });
      this.supervisor.on('restarted', () => log.warn('containerd restarted'));
      address = await this.supervisor.start();
    }
    this.clientInstance = await ContainerdClient.connect({
      address,
      namespace: this.config['containerd-namespace'],
    });
    await this.clientInstance.namespaces.create(this.config['containerd-namespace'], {
      'io.berth.owner': 'berthd',
    });
  }

  async version(): Promise<{ version: string; commit: string }> {
    const v = await this.client.version.version();
    return { version: v.version, commit: v.revision };
  }

  async stop(): Promise<void> {
    this.clientInstance?.close();
    await this.supervisor?.stop();
  }
}
