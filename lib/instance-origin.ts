const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/**
 * The identity and label of a service instance: `scheme://host:port` of an `http:` or `https:` URL, with the port
 * always written (`http://10.0.0.7:80`), the host lower-cased (IPv6 in brackets). Credentials, path, query and
 * fragment never take part. `undefined` when `url` is not an absolute http(s) URL with a host. Never throws.
 */
export function instanceOrigin(url: unknown): string | undefined {
  if (typeof url !== 'string' && !(url instanceof URL)) return undefined;
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(url);
  } catch {
    return undefined;
  }
  const defaultPort = DEFAULT_PORTS[parsed.protocol];
  if (defaultPort === undefined || parsed.hostname === '') return undefined;
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port === '' ? defaultPort : parsed.port}`;
}
