/**
 * `HEAD/GET/PUT /containers/{id}/archive`: what `docker cp` uses. The path
 * stat travels base64-encoded in X-Docker-Container-Path-Stat; archives are
 * plain tar out, tar (plain or compressed) in.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodePathStat, PATH_STAT_HEADER, type PathStat } from '../../../archive/index.js';
import { errorMessage, invalidParameter } from '../../../common/errors.js';
import { log } from '../../../common/log.js';
import { boolParam } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';

export interface ContainerArchiveBackend {
  archiveStat(term: string, containerPath: string): Promise<PathStat>;
  archiveGet(term: string, containerPath: string): Promise<{ stat: PathStat; stream: Readable }>;
  archivePut(
    term: string,
    containerPath: string,
    input: Readable,
    options: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean },
  ): Promise<void>;
}

function pathParam(ctx: RouteContext): string {
  const value = ctx.query.get('path');
  if (!value) throw invalidParameter('path must not be empty');
  return value;
}

export function containerArchiveRoutes(backend: ContainerArchiveBackend): Route[] {
  return [
    {
      method: 'HEAD',
      path: '/containers/{name}/archive',
      handler: async (ctx) => {
        const stat = await backend.archiveStat(ctx.params.name, pathParam(ctx));
        ctx.res.writeHead(200, { [PATH_STAT_HEADER]: encodePathStat(stat) });
        ctx.res.end();
      },
    },
    {
      method: 'GET',
      path: '/containers/{name}/archive',
      handler: async (ctx) => {
        const { stat, stream } = await backend.archiveGet(ctx.params.name, pathParam(ctx));
        ctx.res.writeHead(200, {
          'Content-Type': 'application/x-tar',
          [PATH_STAT_HEADER]: encodePathStat(stat),
        });
        try {
          await pipeline(stream, ctx.res);
        } catch (err) {
          log.debug('archive stream ended early', { error: errorMessage(err) });
          stream.destroy();
          ctx.res.destroy();
        }
      },
    },
    {
      method: 'PUT',
      path: '/containers/{name}/archive',
      handler: async (ctx) => {
        await backend.archivePut(ctx.params.name, pathParam(ctx), ctx.req, {
          noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir'),
          copyUIDGID: boolParam(ctx.query, 'copyUIDGID'),
        });
        ctx.res.writeHead(200);
        ctx.res.end();
      },
    },
  ];
}
