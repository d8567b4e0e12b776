import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A CA plus a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
export function makeTlsFiles(dir: string, prefix: string): TlsFiles {
  const p = (name: string): string => path.join(dir, `${prefix}-${name}`);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${prefix}-ca`,
      '-keyout',
      p('ca-key.pem'),
      '-out',
      p('ca.pem'),
    ],
    dir,
  );
  const issue = (name: string, ext: string): void => {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${prefix}-${name}`,
        '-keyout',
        p(`${name}-key.pem`),
        '-out',
        p(`${name}.csr`),
      ],
      dir,
    );
    execFileSync('sh', ['-c', `printf '%s\\n' '${ext}' > ${p(`${name}.ext`)}`]);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        p(`${name}.csr`),
        '-CA',
        p('ca.pem'),
        '-CAkey',
        p('ca-key.pem'),
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        p(`${name}.ext`),
        '-out',
        p(`${name}.pem`),
      ],
      dir,
    );
  };
  issue('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  issue('client', 'extendedKeyUsage=clientAuth');
  return {
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server-key.pem'),
    clientCert: p('client.pem'),
    clientKey: p('client-key.pem'),
  };
}
