/** The outbound benchmark's backend: two plain Node HTTP servers (two "instances") answering 200 with a small body. */
import { serveRequests } from '../child.js';
import { listen } from './http.js';

const body = JSON.stringify({ id: 1, name: 'user' });
const handler = (_req: unknown, res: import('node:http').ServerResponse): void => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
};
const ports = [await listen(handler), await listen(handler)];
serveRequests({ ports }, {});
