import type { CallOptions, Connection } from '../connection.js';
import { fromWirePlatform, type Platform, type WirePlatform } from '../types.js';

export interface PluginInfo {
  /** e.g. "io.containerd.snapshotter.v1" */
  type: string;
  /** e.g. "overlayfs" */
  id: string;
  requires: string[];
  platforms: Platform[];
  exports: Record<string, string>;
  capabilities: string[];
  /** Set when the plugin failed to initialise (containerd's message). */
  initError?: string;
}

interface WirePlugin {
  type: string;
  id: string;
  requires: string[];
  platforms: WirePlatform[];
  exports: Record<string, string>;
  capabilities: string[];
  init_err: { code: number; message: string } | null;
}

export class IntrospectionService {
  constructor(private readonly conn: Connection) {}

  /** Plugins matching containerd filters such as `type==io.containerd.snapshotter.v1`. */
  async plugins(filters: string[] = [], options?: CallOptions): Promise<PluginInfo[]> {
    const res = await this.conn.unary<{ plugins: WirePlugin[] }>(
      'introspection',
      'Plugins',
      { filters },
      options,
    );
    return res.plugins.map((p) => {
      const plugin: PluginInfo = {
        type: p.type,
        id: p.id,
        requires: p.requires,
        platforms: p.platforms.map(fromWirePlatform),
        exports: p.exports,
        capabilities: p.capabilities,
      };
      if (p.init_err && (p.init_err.code !== 0 || p.init_err.message)) plugin.initError = p.init_err.message;
      return plugin;
    });
  }

  /** The containerd instance's UUID (stable across restarts of the same root). */
  async server(options?: CallOptions): Promise<{ uuid: string }> {
    const res = await this.conn.unary<{ uuid: string }>('introspection', 'Server', {}, options);
    return { uuid: res.uuid };
  }
}
