/** Clients for servers that tests publish on the host (port mappings, proxies). */
import dgram from 'node:dgram';
import http from 'node:http';

/** The body of `GET urlPath` from host:port; rejects after 3 s without an answer. */
export function httpGetText(port: number, urlPath = '/', host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: urlPath, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** Sends one UDP datagram to 127.0.0.1:port and resolves with the first reply. */
export function udpRoundTrip(port: number, message: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP answer'));
    }, timeoutMs);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply.toString());
    });
    socket.send(message, port, '127.0.0.1');
  });
}
