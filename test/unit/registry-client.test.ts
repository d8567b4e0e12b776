/**
 * Blob and manifest verification against a small HTTP server that misbehaves
 * on purpose (wrong bytes, cut connections, ignored Range, 503s, schema 1):
 * failures a healthy real registry does not produce on demand.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loginHost, RegistryClient } from '../../src/registry/client.js';
import { BlobVerificationError } from '../../src/registry/errors.js';
import { isEngineError } from '../../src/common/errors.js';
import { nextLink } from '../../src/registry/transport.js';

type Behaviour =
  | 'good'
  | 'wrong-bytes'
  | 'short'
  | 'long'
  | 'cut-once'
  | 'cut-once-ignore-range'
  | '503-once'
  | 'missing'
  | 'redirect';

const blob = randomBytes(300_000);
const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex');
const schema1 = Buffer.from(
  JSON.stringify({ schemaVersion: 1, name: 'old/image', tag: 'latest', fsLayers: [] }),
);
const ociManifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: blob.length },
    layers: [],
  }),
);

let behaviour: Behaviour = 'good';
let served = 0;
const ranges: (string | undefined)[] = [];
const storageAuthorization: (string | undefined)[] = [];
let port = 0;
let server: http.Server;
let host: string;
let client: RegistryClient;

function serveBlob(req: http.IncomingMessage, res: http.ServerResponse): void {
  served++;
  ranges.push(req.headers.range);
  const first = served === 1;
  if (behaviour === 'missing') {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] }));
    return;
  }
  if (behaviour === 'redirect' && req.url?.startsWith('/v2/')) {
    // Like Docker Hub sending blobs to a CDN: another host, which must not see our token.
    res.writeHead(307, { Location: `http://localhost:${port}/storage/blob` }).end();
    return;
  }
  if (behaviour === '503-once' && first) {
    res.writeHead(503).end();
    return;
  }
  let body = blob;
  if (behaviour === 'wrong-bytes') body = Buffer.from(blob).fill(7, 1000, 1010);
  if (behaviour === 'short') body = blob.subarray(0, blob.length - 10);
  if (behaviour === 'long') body = Buffer.concat([blob, Buffer.from('extra')]);
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range && behaviour !== 'cut-once-ignore-range') {
    const start = Number(range[1]);
    res.writeHead(206, {
      'Content-Length': body.length - start,
      'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
    });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': 'bytes' });
  if ((behaviour === 'cut-once' || behaviour === 'cut-once-ignore-range') && first) {
    res.write(body.subarray(0, 100_000), () => setTimeout(() => req.socket.destroy(), 20));
    return;
  }
  res.end(body);
}

before(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return void res.writeHead(200).end('{}');
    if (url.startsWith('/v2/repo/blobs/')) return serveBlob(req, res);
    if (url === '/storage/blob') {
      storageAuthorization.push(req.headers.authorization);
      return serveBlob(req, res);
    }
    if (url === '/v2/old/image/manifests/latest') {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
      return void res.end(schema1);
    }
    if (url.startsWith('/v2/repo/manifests/')) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      return void res.end(ociManifest);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
  client = new RegistryClient({ retryBaseDelayMs: 1 });
});

after(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  served = 0;
  ranges.length = 0;
});

async function read(offset?: number): Promise<Buffer> {
  const stream = await client.fetchBlob(
    { domain: host, path: 'repo' },
    { digest, size: blob.length },
    { offset },
  );
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readError(): Promise<unknown> {
  try {
    await read();
  } catch (err) {
    return err;
  }
  assert.fail('reading the blob should have failed');
}

describe('fetchBlob verification', () => {
  test('good content streams through', async () => {
    behaviour = 'good';
    assert.ok((await read()).equals(blob));
  });

  test('wrong bytes fail with a digest mismatch', async () => {
    behaviour = 'wrong-bytes';
    const err = await readError();
    assert.ok(err instanceof BlobVerificationError && err.reason === 'digest', String(err));
    assert.match((err as Error).message, /digest mismatch/);
  });

  test('a complete but short answer is a size mismatch, not retried', async () => {
    behaviour = 'short';
    const err = await readError();
    assert.ok(err instanceof BlobVerificationError && err.reason === 'size', String(err));
    assert.equal(served, 1);
  });

  test('too many bytes is a size mismatch', async () => {
    behaviour = 'long';
    const err = await readError();
    assert.ok(err instanceof BlobVerificationError && err.reason === 'size', String(err));
  });

  test('a cut connection resumes with Range', async () => {
    behaviour = 'cut-once';
    assert.ok((await read()).equals(blob));
    assert.equal(served, 2);
    assert.equal(ranges[0], undefined);
    assert.match(ranges[1] ?? '', /^bytes=\d+-$/);
  });

  test('a server ignoring Range is handled by skipping what was read', async () => {
    behaviour = 'cut-once-ignore-range';
    assert.ok((await read()).equals(blob));
    assert.equal(served, 2);
  });

  test('a 503 is retried', async () => {
    behaviour = '503-once';
    assert.ok((await read()).equals(blob));
    assert.equal(served, 2);
  });

  test('a missing blob rejects with NotFound', async () => {
    behaviour = 'missing';
    const err = await readError();
    assert.ok(isEngineError(err, 'NotFound'), String(err));
    assert.match((err as Error).message, /blob unknown/);
  });

  test('redirects are followed without carrying credentials to another host', async () => {
    behaviour = 'redirect';
    storageAuthorization.length = 0;
    const stream = await client.fetchBlob(
      { domain: host, path: 'repo' },
      { digest, size: blob.length },
      { credentials: { registrytoken: 'secret' } },
    );
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(blob));
    assert.deepEqual(storageAuthorization, [undefined]);
  });

  test('offset reads the tail', async () => {
    behaviour = 'good';
    assert.ok((await read(250_000)).equals(blob.subarray(250_000)));
    assert.equal(ranges[0], 'bytes=250000-');
  });
});

describe('manifest checks', () => {
  test('schema 1 is refused with Docker message', async () => {
    await assert.rejects(
      client.getManifest({ domain: host, path: 'old/image', tag: 'latest' }),
      (err: unknown) => {
        assert.ok(isEngineError(err, 'InvalidParameter'));
        assert.equal(
          err.message,
          `Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of ${host}/old/image:latest to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/`,
        );
        return true;
      },
    );
  });

  test('a manifest not matching the requested digest is refused', async () => {
    const wrong = 'sha256:' + 'a'.repeat(64);
    await assert.rejects(client.getManifest({ domain: host, path: 'repo', digest: wrong }), {
      message: `manifest verification failed for digest ${wrong}`,
    });
    const right = 'sha256:' + createHash('sha256').update(ociManifest).digest('hex');
    const result = await client.getManifest({ domain: host, path: 'repo', digest: right });
    assert.equal(result.digest, right);
    assert.equal(result.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  });
});

describe('nextLink', () => {
  test('finds rel="next" among links', () => {
    assert.equal(nextLink(['</v2/x/tags/list?last=b&n=2>; rel="next"']), '/v2/x/tags/list?last=b&n=2');
    assert.equal(nextLink(['<https://a/prev>; rel="prev", <https://a/next>; rel="next"']), 'https://a/next');
    assert.equal(nextLink(['<https://a/prev>; rel="prev"']), undefined);
    assert.equal(nextLink([]), undefined);
  });
});

describe('insecure registries', () => {
  test('loopback is insecure by default, other addresses are not', async () => {
    const plain = new RegistryClient();
    try {
      assert.equal(await plain.isInsecureRegistry('127.0.0.1:5000'), true);
      assert.equal(await plain.isInsecureRegistry('127.1.2.3'), true);
      assert.equal(await plain.isInsecureRegistry('[::1]:5000'), true);
      assert.equal(await plain.isInsecureRegistry('localhost:5000'), true);
      assert.equal(await plain.isInsecureRegistry('10.1.2.3:5000'), false);
    } finally {
      plain.close();
    }
  });

  test('CIDRs and host[:port] names from the configuration', async () => {
    const configured = new RegistryClient({
      insecureRegistries: ['10.0.0.0/8', 'fd00::/8', '192.0.2.7:5000', 'http://198.51.100.1'],
    });
    try {
      assert.equal(await configured.isInsecureRegistry('10.1.2.3:5000'), true);
      assert.equal(await configured.isInsecureRegistry('[fd12::1]:443'), true);
      assert.equal(await configured.isInsecureRegistry('192.0.2.7:5000'), true);
      assert.equal(await configured.isInsecureRegistry('192.0.2.7:5001'), false);
      assert.equal(await configured.isInsecureRegistry('198.51.100.1:5000'), true);
      assert.equal(await configured.isInsecureRegistry('11.0.0.1'), false);
    } finally {
      configured.close();
    }
  });
});

describe('loginHost', () => {
  test('maps server addresses as docker login does', () => {
    assert.equal(loginHost('https://index.docker.io/v1/'), 'registry-1.docker.io');
    assert.equal(loginHost('docker.io'), 'registry-1.docker.io');
    assert.equal(loginHost('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
    assert.equal(loginHost('Registry.Example.com'), 'registry.example.com');
  });
});
