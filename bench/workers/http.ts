import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Serves `listener` on 127.0.0.1 on a free port (`prepare` sees the server first); resolves to the port. */
export function listen(listener: RequestListener, prepare?: (server: Server) => void): Promise<number> {
  const server = createServer(listener);
  prepare?.(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
