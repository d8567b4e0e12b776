import type { CallOptions, Connection } from '../connection.js';

export interface ContainerdVersion {
  version: string;
  revision: string;
}

export class VersionService {
  constructor(private readonly conn: Connection) {}

  async version(options?: CallOptions): Promise<ContainerdVersion> {
    const res = await this.conn.unary<{ version: string; revision: string }>(
      'version',
      'Version',
      {},
      options,
    );
    return { version: res.version, revision: res.revision };
  }
}
