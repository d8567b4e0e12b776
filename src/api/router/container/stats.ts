/** `GET /containers/{id}/stats`: one sample, or one per second while the container runs (stream). */
import { boolParamOr } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { statsJsonText, type StatsJson } from '../../../engine/containers/stats.js';

export interface StatsBackend {
  sample(term: string): Promise<StatsJson>;
  stream(term: string, signal?: AbortSignal): AsyncGenerator<StatsJson>;
}

async function stats(ctx: RouteContext, backend: StatsBackend): Promise<void> {
  const term = ctx.params.name;
  const stream = boolParamOr(ctx.query, 'stream', true) && !boolParamOr(ctx.query, 'one-shot', false);
  if (!stream) {
    const text = statsJsonText(await backend.sample(term)) + '\n';
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    ctx.res.end(text);
    return;
  }
  const abort = new AbortController();
  ctx.res.on('close', () => abort.abort());
  const samples = backend.stream(term, abort.signal);
  // The first sample comes before the headers, so an unknown container is a 404.
  const first = await samples.next();
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  if (!first.done) ctx.res.write(statsJsonText(first.value) + '\n');
  for await (const sample of samples) {
    if (abort.signal.aborted) break;
    ctx.res.write(statsJsonText(sample) + '\n');
  }
  ctx.res.end();
}

export function containerStatsRoutes(backend: StatsBackend): Route[] {
  return [{ method: 'GET', path: '/containers/{name}/stats', handler: (ctx) => stats(ctx, backend) }];
}
