/** `GET /distribution/{name}/json` and `POST /auth`: registry questions answered through the daemon. */
import { invalidParameter } from '../../../common/errors.js';
import { decodeRegistryAuth } from '../../../engine/images/registry-config.js';
import type { DistributionInspect } from '../../../engine/images/service.js';
import type { AuthConfig, AuthResponse } from '../../../types/system.js';
import { readJSON, sendJSON } from '../../httputils.js';
import type { Route } from '../../router.js';

/** What the distribution routes need from the engine. */
export interface DistributionBackend {
  distributionInspect(name: string, credentials: AuthConfig | undefined): Promise<DistributionInspect>;
  login(auth: AuthConfig): Promise<AuthResponse>;
}

export function distributionRoutes(backend: DistributionBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/distribution/{name:.*}/json',
      handler: async ({ req, res, params }) => {
        const header = req.headers['x-registry-auth'];
        const credentials = decodeRegistryAuth(Array.isArray(header) ? header[0] : header);
        sendJSON(res, 200, await backend.distributionInspect(params.name, credentials));
      },
    },
    {
      method: 'POST',
      path: '/auth',
      handler: async ({ req, res }) => {
        const auth = await readJSON<AuthConfig>(req);
        if (auth === undefined || typeof auth !== 'object')
          throw invalidParameter('missing auth configuration');
        const result = await backend.login(auth);
        // moby always sends both fields, IdentityToken first.
        sendJSON(res, 200, { IdentityToken: result.IdentityToken ?? '', Status: result.Status });
      },
    },
  ];
}
