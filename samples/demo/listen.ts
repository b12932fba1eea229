import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts listening; a busy port rejects with an error that says which server and which flag to change. */
export function listen(server: Server, port: number, host: string, what: string, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(new Error(`port ${port} on ${host} is already in use (${what}); free it or choose another with ${flag}`));
      } else reject(new Error(`${what} cannot listen on ${host}:${port}: ${error.message}`));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Closes a server and every connection it still holds. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
