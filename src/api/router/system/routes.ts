import { invalidParameter, notImplemented } from '../../../common/errors.js';
import { validateEventFilters } from '../../../engine/events/filter.js';
import { filtersParam, sendJSON, startJSONStream } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { MAX_API_VERSION } from '../../version.js';
import type { SystemBackend } from './backend.js';

export function systemRoutes(backend: SystemBackend): Route[] {
  const ping = async ({ req, res }: RouteContext): Promise<void> => {
    res.setHeader('Api-Version', MAX_API_VERSION);
    res.setHeader('Builder-Version', '1');
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    res.setHeader('Pragma', 'no-cache');
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': req.method === 'HEAD' ? 0 : 2,
    });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  };
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    {
      method: 'GET',
      path: '/version',
      handler: async ({ res }) => sendJSON(res, 200, await backend.version()),
    },
    { method: 'GET', path: '/info', handler: async ({ res }) => sendJSON(res, 200, await backend.info()) },
    { method: 'GET', path: '/events', handler: (ctx) => streamEvents(ctx, backend) },
    {
      method: 'GET',
      path: '/system/df',
      handler: async ({ res, query }) => {
        if (!backend.diskUsage) throw notImplemented('disk usage is not available in this berthd');
        sendJSON(res, 200, await backend.diskUsage(query.getAll('type')));
      },
    },
  ];
}

/** Accepts Docker's timestamp forms: seconds with optional fraction, or RFC 3339. */
export function parseTimestamp(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidParameter(`invalid value for ${name}: ${value}`);
  return ms / 1000;
}

async function streamEvents({ req, res, query }: RouteContext, backend: SystemBackend): Promise<void> {
  const filters = filtersParam(query);
  validateEventFilters(filters);
  const since = parseTimestamp(query.get('since'), 'since');
  const until = parseTimestamp(query.get('until'), 'until');
  if (since !== undefined && until !== undefined && until < since) {
    throw invalidParameter('`since` time must be before `until` time');
  }
  const write = startJSONStream(res);
  const subscription = backend.subscribeEvents({ since, until, filters }, (event) => write(event));
  for (const event of subscription.past) write(event);
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      subscription.unsubscribe();
      clearTimeout(timer);
      resolve();
    };
    const timer =
      until === undefined ? undefined : setTimeout(finish, Math.max(0, until * 1000 - Date.now()));
    req.on('close', finish);
  });
  res.end();
}
