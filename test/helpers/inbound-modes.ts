import type express5 from 'express';
import type Koa from 'koa';
import type { IncomingMessage } from 'node:http';
import {
  instrumentExpress,
  instrumentKoa,
  koaMeshMetrics,
  meshMetrics,
  type InboundOptions,
  type KoaLabelContext,
} from '../../index.js';
import { onServe } from './inbound-traffic.js';

/** One way of measuring an app's inbound requests; the inbound suites run once per mode. */
export interface InboundMode<App, S = IncomingMessage> {
  readonly name: string;
  /** Starts measuring `app` with `options`: mounts the middleware first, or instruments the app. */
  measure(app: App, options: InboundOptions<S>): void;
}

/** Instruments every server `listen()` creates for `app` (not supertest's own servers). */
function instrumentServers(app: object, options: InboundOptions): void {
  onServe.set(app, [...(onServe.get(app) ?? []), (server) => void instrumentExpress(server, options)]);
}

/** Express: `app.use(meshMetrics())`, `instrumentExpress(app)` and `instrumentExpress(server)`. */
export const expressModes: readonly InboundMode<ReturnType<typeof express5>>[] = [
  { name: 'meshMetrics', measure: (app, options) => void app.use(meshMetrics(options)) },
  { name: 'instrumentExpress', measure: (app, options) => void instrumentExpress(app, options) },
  { name: 'instrumentExpress(server)', measure: instrumentServers },
];

/** Koa: `app.use(koaMeshMetrics())` and `instrumentKoa(app)`. */
export const koaModes: readonly InboundMode<Koa, KoaLabelContext>[] = [
  { name: 'koaMeshMetrics', measure: (app, options) => void app.use(koaMeshMetrics(options)) },
  { name: 'instrumentKoa', measure: (app, options) => void instrumentKoa(app, options) },
];
