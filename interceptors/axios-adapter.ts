import type { AxiosAdapter, AxiosInstance, InternalAxiosRequestConfig } from 'axios';

/** What a request's `adapter` may be before axios resolves it: a function, a name, or a list of them. */
export type AdapterSpec = InternalAxiosRequestConfig['adapter'];

type GetAdapter = (spec: AdapterSpec, config?: InternalAxiosRequestConfig) => AxiosAdapter;

let imported: Promise<GetAdapter | undefined> | undefined;

/** axios's `getAdapter`, from the installed package, loaded on first need so the kit never imports axios otherwise. */
function importGetAdapter(): Promise<GetAdapter | undefined> {
  imported ??= import('axios').then(
    (m: Record<string, unknown>) => {
      const fromDefault = (m.default as { getAdapter?: unknown } | undefined)?.getAdapter;
      const found = typeof m.getAdapter === 'function' ? m.getAdapter : fromDefault;
      return typeof found === 'function' ? (found as GetAdapter) : undefined;
    },
    () => undefined,
  );
  return imported;
}

/**
 * Turns a request's adapter setting into the adapter function axios itself would call: a function is used as it is;
 * names (`'http'`, `['xhr', 'http', 'fetch']`) go through axios's `getAdapter`, taken from the instance when it has
 * one (the default `axios` export does) or else from the installed `axios` package.
 */
export class AdapterResolver {
  private getAdapter: GetAdapter | undefined;

  constructor(instance: AxiosInstance) {
    const own = (instance as unknown as { getAdapter?: unknown }).getAdapter;
    if (typeof own === 'function') this.getAdapter = own as GetAdapter;
  }

  async resolve(spec: AdapterSpec, config: InternalAxiosRequestConfig): Promise<AxiosAdapter> {
    if (typeof spec === 'function') return spec;
    this.getAdapter ??= await importGetAdapter();
    if (this.getAdapter === undefined) {
      throw new Error('mesh-metrics: cannot resolve the axios adapter by name; set the adapter to a function');
    }
    return this.getAdapter(spec, config);
  }
}
