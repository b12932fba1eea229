/** The outbound benchmark's backend: two plain Node HTTP servers (two "instances") answering 200 with a small body. */
import { serveRequests } from '../child.js';
import { listen } from './http.js';

const body = JSON.stringify({ id: 1, name: 'user' });
const handler = (_req: unknown, res: import('node:http').ServerResponse): void => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
};
// idle keep-alive connections stay open for a minute (Node closes them after 5 s): a client under valgrind pauses
// for seconds while callgrind writes a dump, and a connection closed meanwhile would fail its next call
const patient = (server: import('node:http').Server): void => {
  server.keepAliveTimeout = 60_000;
};
const ports = [await listen(handler, patient), await listen(handler, patient)];
serveRequests({ ports }, {});
