/**
 * RegistryClient against Debian's docker-registry (distribution 2.8): push
 * and pull of images built in memory, mounts, tags, multi-platform indexes,
 * corrupted storage, Basic and Bearer auth, TLS, mirrors, and skopeo reading
 * what we wrote (and us reading what skopeo wrote).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { fetchToken } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { HttpTransport } from '../../src/registry/transport.js';
import { BlobVerificationError } from '../../src/registry/errors.js';
import { MediaType, type ImageManifest } from '../../src/registry/media-types.js';
import { parseNormalizedNamed } from '../../src/registry/reference.js';
import { isEngineError } from '../../src/common/errors.js';
import {
  buildImage,
  buildIndex,
  buildTar,
  busyboxLayer,
  pushImage,
  type BuiltImage,
} from '../helpers/oci-image.js';
import { startRegistry, TOKEN_SERVICE, type RunningRegistry } from '../helpers/registry.js';

const run = promisify(execFile);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Names and sizes of the entries of a gzip'd tar. */
async function listLayer(
  gz: Readable,
): Promise<Map<string, { size: number; type: string; linkname?: string }>> {
  const entries = new Map<string, { size: number; type: string; linkname?: string }>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const { name, size, type, linkname } = entry.header;
      entries.set(name, { size: size ?? 0, type: type ?? 'file', linkname: linkname ?? undefined });
      entry.resume();
    }
  })();
  gz.pipe(createGunzip()).pipe(extract);
  await done;
  return entries;
}

async function smallImage(text: string, platform?: BuiltImage['platform']): Promise<BuiltImage> {
  return buildImage({ layers: [await buildTar([{ name: 'hello.txt', content: text }])], platform });
}

describe('registry without auth', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  let busybox: BuiltImage;

  before(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ retryBaseDelayMs: 10 });
    busybox = buildImage({ layers: [await busyboxLayer()], config: { Cmd: ['sh'] } });
    await pushImage(registry.url, 'test/busybox', 'latest', busybox, { client });
  });

  after(async () => {
    client?.close();
    await registry?.stop();
  });

  const ref = (s: string) => parseNormalizedNamed(`${registry.host}/${s}`);

  test('reads back the manifest it pushed', async () => {
    const result = await client.getManifest(ref('test/busybox:latest'));
    assert.equal(result.mediaType, MediaType.ociManifest);
    assert.equal(result.digest, busybox.manifestDigest);
    assert.ok(result.body.equals(busybox.manifestBytes));
    assert.deepEqual(result.parsed, busybox.manifest);
    const head = await client.headManifest(ref('test/busybox:latest'));
    assert.deepEqual(head, {
      mediaType: MediaType.ociManifest,
      digest: busybox.manifestDigest,
      size: busybox.manifestBytes.length,
    });
    const byDigest = await client.getManifest(ref(`test/busybox@${busybox.manifestDigest}`));
    assert.equal(byDigest.digest, busybox.manifestDigest);
  });

  test('resolves a single-platform image and reads config and layer', async () => {
    const resolved = await client.resolveImage(ref('test/busybox:latest'));
    assert.equal(resolved.index, undefined);
    assert.equal(resolved.descriptor.digest, busybox.manifestDigest);
    const repo = { domain: registry.host, path: 'test/busybox' };
    const config = await client.fetchBlobBytes(repo, resolved.manifest.parsed.config);
    assert.ok(config.equals(busybox.configBytes));
    const layer = await client.fetchBlob(repo, resolved.manifest.parsed.layers[0]);
    assert.equal(layer.descriptor.digest, busybox.layers[0].digest);
    const entries = await listLayer(layer);
    assert.equal(entries.get('bin/busybox')?.size, statSync('/bin/busybox').size);
    assert.equal(entries.get('bin/sh')?.linkname, 'busybox');
    assert.equal(entries.get('tmp/')?.type, 'directory');
    assert.ok(entries.has('etc/passwd'));
  });

  test('reads a blob from an offset (Range)', async () => {
    const layer = busybox.layers[0];
    const stream = await client.fetchBlob({ domain: registry.host, path: 'test/busybox' }, layer.descriptor, {
      offset: 1000,
    });
    assert.ok((await readAll(stream)).equals(layer.gz.subarray(1000)));
    assert.equal(stream.bytesRead, layer.size);
  });

  test('uploads stream from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-upload-'));
    try {
      const file = join(dir, 'blob');
      const data = randomBytes(3 * 1024 * 1024 + 17);
      writeFileSync(file, data);
      const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
      const repo = { domain: registry.host, path: 'test/files' };
      for (const mode of ['streamed', 'chunked'] as const) {
        const target = { ...repo, path: `${repo.path}-${mode}` };
        const result = await client.uploadBlob(target, digest, data.length, () => createReadStream(file), {
          mode,
          chunkSize: 1024 * 1024,
        });
        assert.deepEqual(result, { digest, size: data.length, existed: false, mounted: false });
        const back = await client.fetchBlob(target, { digest, size: data.length });
        assert.ok((await readAll(back)).equals(data), mode);
      }
      await assert.rejects(
        client.uploadBlob(
          { ...repo, path: 'test/files-bad' },
          'sha256:' + '1'.repeat(64),
          data.length,
          () => createReadStream(file),
          {
            mode: 'monolithic',
          },
        ),
        (err: unknown) => isEngineError(err) && /digest/i.test(err.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('blobExists and an idempotent second push', async () => {
    const repo = { domain: registry.host, path: 'test/busybox' };
    assert.equal(await client.blobExists(repo, busybox.layers[0].digest), true);
    assert.equal(await client.blobExists(repo, 'sha256:' + '0'.repeat(64)), false);
    const again = await client.uploadBlob(repo, busybox.configDigest, busybox.configBytes.length, () =>
      Readable.from([busybox.configBytes]),
    );
    assert.deepEqual(again, {
      digest: busybox.configDigest,
      size: busybox.configBytes.length,
      existed: true,
      mounted: false,
    });
  });

  test('mounts a blob from another repository', async () => {
    const target = { domain: registry.host, path: 'other/copy' };
    const layer = busybox.layers[0];
    const result = await client.uploadBlob(
      target,
      layer.digest,
      layer.size,
      () => assert.fail('mount must not read the source'),
      {
        mountFrom: 'test/busybox',
      },
    );
    assert.deepEqual(result, { digest: layer.digest, size: layer.size, existed: false, mounted: true });
    assert.equal(await client.blobExists(target, layer.digest), true);
  });

  test('monolithic and chunked uploads read back intact', async () => {
    for (const [mode, repo] of [
      ['monolithic', 'modes/monolithic'],
      ['chunked', 'modes/chunked'],
    ] as const) {
      await pushImage(registry.url, repo, 'v1', busybox, { client, mode, chunkSize: 256 * 1024 });
      const stream = await client.fetchBlob(
        { domain: registry.host, path: repo },
        busybox.layers[0].descriptor,
      );
      assert.ok((await readAll(stream)).equals(busybox.layers[0].gz), mode);
    }
  });

  test('lists tags across pages', async () => {
    const image = await smallImage('tags');
    const tags = ['a', 'b', 'c', 'd', 'e'];
    for (const tag of tags) await pushImage(registry.url, 'test/tags', tag, image, { client });
    assert.deepEqual(
      (await client.listTags({ domain: registry.host, path: 'test/tags' }, { pageSize: 2 })).sort(),
      tags,
    );
    assert.deepEqual((await client.listTags({ domain: registry.host, path: 'test/tags' })).sort(), tags);
  });

  test('multi-platform index: platform selection and RepoDigest', async () => {
    const amd64 = await smallImage('amd64', { os: 'linux', architecture: 'amd64' });
    const arm64 = await smallImage('arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const armv7 = await smallImage('armv7', { os: 'linux', architecture: 'arm', variant: 'v7' });
    for (const format of ['oci', 'docker'] as const) {
      const index = buildIndex([amd64, arm64, armv7], format);
      const repo = `multi/${format}`;
      await pushImage(registry.url, repo, 'latest', index, { client });
      const plain = await client.resolveImage(ref(`${repo}:latest`));
      assert.equal(plain.descriptor.digest, index.indexDigest);
      assert.equal(
        plain.index?.mediaType,
        format === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList,
      );
      assert.equal(plain.manifest.digest, amd64.manifestDigest);
      const arm = await client.resolveImage(ref(`${repo}:latest`), {
        platform: { os: 'linux', architecture: 'arm64' },
      });
      assert.equal(arm.manifest.digest, arm64.manifestDigest);
      const v7 = await client.resolveImage(ref(`${repo}@${index.indexDigest}`), {
        platform: { os: 'linux', architecture: 'arm' },
      });
      assert.equal(v7.manifest.digest, armv7.manifestDigest);
      await assert.rejects(
        client.resolveImage(ref(`${repo}:latest`), { platform: { os: 'linux', architecture: 's390x' } }),
        (err: unknown) => {
          assert.ok(isEngineError(err, 'NotFound'));
          assert.equal(err.message, 'no matching manifest for linux/s390x in the manifest list entries');
          return true;
        },
      );
    }
  });

  test('missing tags and repositories are NotFound with Docker wording', async () => {
    await assert.rejects(client.getManifest(ref('test/busybox:nope')), (err: unknown) => {
      assert.ok(isEngineError(err, 'NotFound'), String(err));
      assert.equal(
        err.message,
        `manifest for ${registry.host}/test/busybox:nope not found: manifest unknown: manifest unknown`,
      );
      return true;
    });
    await assert.rejects(client.getManifest(ref('no/such/repo:latest')), (err: unknown) =>
      isEngineError(err, 'NotFound'),
    );
  });

  test('corrupted storage is caught: same size (digest) and truncated (size)', async () => {
    const image = buildImage({
      layers: [await buildTar([{ name: 'data.bin', content: Buffer.alloc(200_000, 1) }])],
    });
    await pushImage(registry.url, 'test/corrupt', 'latest', image, { client });
    const repo = { domain: registry.host, path: 'test/corrupt' };
    const layer = image.layers[0];
    const path = registry.blobDataPath(layer.digest);
    assert.equal(statSync(path).size, layer.size);

    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, Math.floor(layer.size / 2));
    } finally {
      closeSync(fd);
    }
    await assert.rejects(readAll(await client.fetchBlob(repo, layer.descriptor)), (err: unknown) => {
      assert.ok(err instanceof BlobVerificationError && err.reason === 'digest', String(err));
      assert.match(
        err.message,
        new RegExp(`digest mismatch: blob ${layer.digest} has content with digest sha256:`),
      );
      return true;
    });

    truncateSync(path, layer.size - 100);
    await assert.rejects(readAll(await client.fetchBlob(repo, layer.descriptor)), (err: unknown) => {
      assert.ok(err instanceof BlobVerificationError && err.reason === 'size', String(err));
      return true;
    });
  });

  test('skopeo inspects what we pushed', async () => {
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://${registry.host}/test/busybox:latest`,
    ]);
    const inspected = JSON.parse(stdout) as {
      Digest: string;
      Layers: string[];
      Architecture: string;
      Os: string;
    };
    assert.equal(inspected.Digest, busybox.manifestDigest);
    assert.deepEqual(inspected.Layers, [busybox.layers[0].digest]);
    assert.equal(inspected.Architecture, 'amd64');
    assert.equal(inspected.Os, 'linux');
    const raw = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/test/busybox:latest`,
    ]);
    assert.equal(raw.stdout.trim(), busybox.manifestBytes.toString());
  });

  test('reads an image skopeo copied (Docker schema 2)', async () => {
    await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--format',
      'v2s2',
      `docker://${registry.host}/test/busybox:latest`,
      `docker://${registry.host}/skopeo/copy:v2s2`,
    ]);
    const resolved = await client.resolveImage(ref('skopeo/copy:v2s2'));
    assert.equal(resolved.manifest.mediaType, MediaType.dockerManifest);
    const manifest: ImageManifest = resolved.manifest.parsed;
    assert.equal(manifest.config.mediaType, MediaType.dockerConfig);
    const layer = await client.fetchBlob({ domain: registry.host, path: 'skopeo/copy' }, manifest.layers[0]);
    assert.ok((await listLayer(layer)).has('bin/busybox'));
  });
});

describe('registry with htpasswd (Basic auth)', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  const good = { username: 'berth', password: 's3cret' };

  before(async () => {
    registry = await startRegistry({ htpasswd: { user: good.username, password: good.password } });
    client = new RegistryClient({ retryBaseDelayMs: 10 });
  });

  after(async () => {
    client?.close();
    await registry?.stop();
  });

  test('right credentials push and pull', async () => {
    const image = await smallImage('basic');
    await pushImage(registry.url, 'private/app', 'v1', image, { client, credentials: good });
    const result = await client.getManifest(parseNormalizedNamed(`${registry.host}/private/app:v1`), {
      credentials: good,
    });
    assert.equal(result.digest, image.manifestDigest);
  });

  test('no credentials: Unauthorized, "no basic auth credentials"', async () => {
    await assert.rejects(
      client.getManifest(parseNormalizedNamed(`${registry.host}/private/app:v1`)),
      (err: unknown) => {
        assert.ok(isEngineError(err, 'Unauthorized'), String(err));
        assert.equal(
          err.message,
          `Get "http://${registry.host}/v2/private/app/manifests/v1": no basic auth credentials`,
        );
        return true;
      },
    );
  });

  test('wrong password: Unauthorized', async () => {
    await assert.rejects(
      client.getManifest(parseNormalizedNamed(`${registry.host}/private/app:v1`), {
        credentials: { username: good.username, password: 'wrong' },
      }),
      (err: unknown) => {
        assert.ok(isEngineError(err, 'Unauthorized'), String(err));
        assert.equal(err.message, 'unauthorized: authentication required');
        return true;
      },
    );
  });

  test('login checks the credentials against /v2/', async () => {
    assert.deepEqual(await client.login(registry.host, good), { Status: 'Login Succeeded' });
    await assert.rejects(
      client.login(`http://${registry.host}`, { username: good.username, password: 'nope' }),
      (err: unknown) => {
        assert.ok(isEngineError(err, 'Unauthorized'), String(err));
        assert.equal(
          err.message,
          `login attempt to http://${registry.host}/v2/ failed with status: 401 Unauthorized`,
        );
        return true;
      },
    );
  });

  test('credentialsFor supplies credentials when a call brings none', async () => {
    const asked: string[] = [];
    const configured = new RegistryClient({
      credentialsFor: (host) => {
        asked.push(host);
        return host === registry.host ? good : undefined;
      },
    });
    try {
      const result = await configured.getManifest(parseNormalizedNamed(`${registry.host}/private/app:v1`));
      assert.equal(result.mediaType, MediaType.ociManifest);
      assert.ok(asked.includes(registry.host));
    } finally {
      configured.close();
    }
  });

  test('skopeo reads with the same credentials', async () => {
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--creds',
      `${good.username}:${good.password}`,
      `docker://${registry.host}/private/app:v1`,
    ]);
    assert.equal((JSON.parse(stdout) as { Os: string }).Os, 'linux');
  });
});

describe('registry with token auth (Bearer)', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  const good = { username: 'tokenuser', password: 'tokenpass' };
  let image: BuiltImage;

  before(async () => {
    registry = await startRegistry({ tokenAuth: { user: good.username, password: good.password } });
    client = new RegistryClient({ retryBaseDelayMs: 10 });
    image = await smallImage('bearer');
    await pushImage(registry.url, 'secure/app', 'v1', image, { client, credentials: good });
  });

  after(async () => {
    client?.close();
    await registry?.stop();
  });

  test('push used a pull,push token; pulls reuse a cached pull token', async () => {
    assert.ok(
      registry.tokenRequests.some(
        (r) => r.account === good.username && r.scopes.includes('repository:secure/app:pull,push'),
      ),
    );
    const ref = parseNormalizedNamed(`${registry.host}/secure/app:v1`);
    const before = registry.tokenRequests.length;
    assert.equal((await client.getManifest(ref, { credentials: good })).digest, image.manifestDigest);
    const afterFirst = registry.tokenRequests.length;
    assert.equal(afterFirst, before + 1);
    assert.deepEqual(registry.tokenRequests[afterFirst - 1].scopes, ['repository:secure/app:pull']);
    const resolved = await client.resolveImage(ref, { credentials: good });
    await client.fetchBlobBytes(
      { domain: registry.host, path: 'secure/app' },
      resolved.manifest.parsed.config,
      { credentials: good },
    );
    assert.equal(registry.tokenRequests.length, afterFirst, 'the cached token served the later requests');
  });

  test('concurrent requests share one token request', async () => {
    const fresh = new RegistryClient();
    try {
      const before = registry.tokenRequests.length;
      const repo = { domain: registry.host, path: 'secure/app' };
      const configs = await Promise.all(
        Array.from({ length: 5 }, () =>
          fresh.fetchBlobBytes(repo, image.configDescriptor, { credentials: good }),
        ),
      );
      assert.ok(configs.every((c) => c.equals(image.configBytes)));
      assert.equal(registry.tokenRequests.length, before + 1);
    } finally {
      fresh.close();
    }
  });

  test('wrong password: Unauthorized from the token server', async () => {
    await assert.rejects(
      client.getManifest(parseNormalizedNamed(`${registry.host}/secure/app:v1`), {
        credentials: { username: good.username, password: 'bad' },
      }),
      (err: unknown) => {
        assert.ok(isEngineError(err, 'Unauthorized'), String(err));
        assert.equal(
          err.message,
          `Get "http://${registry.host}/v2/secure/app/manifests/v1": unauthorized: incorrect username or password`,
        );
        return true;
      },
    );
  });

  test('anonymous pulls are refused', async () => {
    await assert.rejects(
      client.getManifest(parseNormalizedNamed(`${registry.host}/secure/app:v1`)),
      (err: unknown) => {
        assert.ok(isEngineError(err, 'Unauthorized'), String(err));
        assert.match(err.message, /authentication required/);
        return true;
      },
    );
  });

  test('login returns an identity token that later pulls use (OAuth refresh)', async () => {
    const result = await client.login(registry.host, good);
    assert.equal(result.Status, 'Login Succeeded');
    assert.ok(result.IdentityToken, 'token server issued a refresh token');
    const loginRequest = registry.tokenRequests.at(-1);
    assert.equal(loginRequest?.offline, true);

    const fresh = new RegistryClient();
    try {
      const manifest = await fresh.getManifest(parseNormalizedNamed(`${registry.host}/secure/app:v1`), {
        credentials: { identitytoken: result.IdentityToken },
      });
      assert.equal(manifest.digest, image.manifestDigest);
    } finally {
      fresh.close();
    }
    const oauth = registry.tokenRequests.at(-1);
    assert.equal(oauth?.method, 'POST');
    assert.equal(oauth?.grantType, 'refresh_token');
    assert.equal(oauth?.account, good.username);

    await assert.rejects(
      client.login(registry.host, { username: good.username, password: 'bad' }),
      (err: unknown) => {
        assert.ok(isEngineError(err, 'Unauthorized'), String(err));
        assert.equal(
          err.message,
          `Get "http://${registry.host}/v2/": unauthorized: incorrect username or password`,
        );
        return true;
      },
    );
  });

  test('registrytoken is sent as is', async () => {
    const transport = new HttpTransport();
    try {
      const token = await fetchToken(transport, {
        realm: registry.tokenRealm ?? assert.fail('token realm'),
        service: TOKEN_SERVICE,
        scopes: ['repository:secure/app:pull'],
        credentials: good,
      });
      const requests = registry.tokenRequests.length;
      const fresh = new RegistryClient();
      try {
        const ref = parseNormalizedNamed(`${registry.host}/secure/app:v1`);
        const manifest = await fresh.getManifest(ref, { credentials: { registrytoken: token.token } });
        assert.equal(manifest.digest, image.manifestDigest);
        assert.equal(registry.tokenRequests.length, requests, 'no token was fetched');
        await assert.rejects(
          fresh.getManifest(ref, { credentials: { registrytoken: 'not-a-token' } }),
          (err: unknown) => isEngineError(err, 'Unauthorized'),
        );
      } finally {
        fresh.close();
      }
    } finally {
      transport.close();
    }
  });
});

describe('registry over TLS (insecure: unverified certificate)', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry({ tls: true });
    client = new RegistryClient({ retryBaseDelayMs: 10 });
  });

  after(async () => {
    client?.close();
    await registry?.stop();
  });

  test('push and pull over HTTPS with a self-signed certificate', async () => {
    assert.ok(registry.url.startsWith('https://'));
    const image = await smallImage('tls');
    await pushImage(registry.url, 'tls/app', 'v1', image, { client });
    const result = await client.getManifest(parseNormalizedNamed(`${registry.host}/tls/app:v1`));
    assert.equal(result.digest, image.manifestDigest);
  });
});

describe('mirrors', () => {
  let origin: RunningRegistry;
  let mirror: RunningRegistry;

  before(async () => {
    [origin, mirror] = await Promise.all([startRegistry(), startRegistry()]);
  });

  after(async () => {
    await Promise.all([origin?.stop(), mirror?.stop()]);
  });

  test('pulls come from the mirror when it has the image, else from the origin', async () => {
    const onMirror = await smallImage('on mirror');
    const onOrigin = await smallImage('on origin');
    await pushImage(mirror.url, 'app/x', 'mirrored', onMirror);
    await pushImage(origin.url, 'app/x', 'origin-only', onOrigin);
    const client = new RegistryClient({
      registryMirrors: { [origin.host]: [mirror.url] },
      retryBaseDelayMs: 10,
    });
    try {
      const mirrored = await client.resolveImage(parseNormalizedNamed(`${origin.host}/app/x:mirrored`));
      assert.equal(mirrored.manifest.digest, onMirror.manifestDigest);
      const layer = await client.fetchBlob(
        { domain: origin.host, path: 'app/x' },
        onMirror.layers[0].descriptor,
      );
      assert.ok((await readAll(layer)).equals(onMirror.layers[0].gz));
      const fallback = await client.resolveImage(parseNormalizedNamed(`${origin.host}/app/x:origin-only`));
      assert.equal(fallback.manifest.digest, onOrigin.manifestDigest);
    } finally {
      client.close();
    }
  });

  test('an unreachable mirror is skipped', async () => {
    const image = await smallImage('mirror down');
    await pushImage(origin.url, 'app/y', 'v1', image);
    const client = new RegistryClient({
      registryMirrors: { [origin.host]: ['http://127.0.0.1:9'] },
      retryBaseDelayMs: 10,
    });
    try {
      const result = await client.getManifest(parseNormalizedNamed(`${origin.host}/app/y:v1`));
      assert.equal(result.digest, image.manifestDigest);
    } finally {
      client.close();
    }
  });
});
