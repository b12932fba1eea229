/**
 * The mount pattern of one Express router layer. Express 5 (router >= 2.3) keeps it (`rawPath`); Express 4 keeps a
 * RegExp, whose plain forms (`/a/:b`, `/:c?`) read back exactly; anything else, and routers that keep nothing, is
 * recovered once from a concrete match: which segment holds which parameter, probing the matcher when two segments
 * carry the same value, and `*` for a parameter sharing its segment with other text. Results are cached per layer.
 */

/** The parts of an Express 4 or 5 router layer read here. */
export interface LayerLike {
  readonly handle?: unknown;
  readonly route?: unknown;
  readonly rawPath?: unknown;
  readonly slash?: unknown;
  readonly regexp?: { readonly fast_slash?: unknown };
  readonly params?: Record<string, unknown>;
  readonly path?: unknown;
  match?(path: string): unknown;
}

/** One layer match, whatever the router version. */
export interface Match {
  readonly path: string;
  readonly params: Record<string, unknown>;
  /** The alternative that matched, from router >= 2.3. */
  readonly pattern?: unknown;
}

/** A segment no real URL carries, used to find which segment a parameter came from. */
const PROBE = 'mesh-metrics-probe-7f3a';

const layerPatterns = new WeakMap<object, string>();

/** Drops trailing slashes. */
export function trimSlash(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return end === path.length ? path : path.slice(0, end);
}

/** The text of a pattern as Express was given it: a string, a RegExp, or an array of those. */
export function patternText(pattern: unknown): string {
  if (typeof pattern === 'string') return pattern;
  if (Array.isArray(pattern)) return pattern.map(patternText).join(',');
  return String(pattern);
}

/** The end of an Express 4 mount RegExp: `\/?(?=\/|$)`, `\/?$` or `(?=\/|$)`. */
const EXPRESS4_END = /(?:\\\/\?)?(?:\(\?=\\\/\|\$\)|\$)$/;
/** One plain Express 4 parameter, `(?:\/([^\/]+?))`, optional when followed by `?`. */
const EXPRESS4_PARAM = /\(\?:\\\/\(\[\^\\?\/\]\+\?\)\)(\?)?/g;
const REGEXP_SYNTAX = /[\\()[\]{}*+?|^$]/;

/**
 * Reads an Express 4 layer's pattern back from its RegExp (path-to-regexp 0.1 output) for the plain forms:
 * literal segments and `/:name` or `/:name?` parameters. Anything else gives `undefined`.
 */
function express4Template(layer: LayerLike): string | undefined {
  const re = (layer as { regexp?: unknown }).regexp;
  const keys = (layer as { keys?: unknown }).keys;
  if (!(re instanceof RegExp) || !Array.isArray(keys) || !re.source.startsWith('^')) return undefined;
  let i = 0;
  let ok = true;
  const text = re.source
    .slice(1)
    .replace(EXPRESS4_END, '')
    .replace(EXPRESS4_PARAM, (_m, optional: string | undefined) => {
      const name = (keys[i++] as { name?: unknown } | undefined)?.name;
      if (typeof name !== 'string') ok = false;
      return `/:${String(name)}${optional ?? ''}`;
    })
    .replace(/\\([/.-])/g, '$1');
  if (!ok || i !== keys.length || REGEXP_SYNTAX.test(text.replace(/\/:\w+\??/g, ''))) return undefined;
  return trimSlash(text);
}

/** A layer's mount pattern when it can be known without a request (Express 5, plain Express 4), else `undefined`. */
export function knownPattern(layer: LayerLike): string | undefined {
  const known = layerPatterns.get(layer);
  if (known !== undefined) return known;
  let t: string | undefined;
  if (Array.isArray(layer.rawPath)) return undefined; // which alternative matched is known per request
  if (layer.rawPath !== undefined) t = trimSlash(patternText(layer.rawPath));
  else if (layer.slash === true || layer.regexp?.fast_slash === true) t = '';
  else t = express4Template(layer);
  if (t !== undefined) layerPatterns.set(layer, t);
  return t;
}

/** Runs a layer's matcher: Express 4 and router < 2.3 return a boolean and store the result on the layer. */
export function matchLayer(layer: LayerLike, path: string): Match | undefined {
  if (typeof layer.match !== 'function') return undefined;
  let r: unknown;
  try {
    r = layer.match(path);
  } catch {
    return undefined;
  }
  if (r === true) return { path: typeof layer.path === 'string' ? layer.path : '', params: layer.params ?? {} };
  if (typeof r === 'object' && r !== null) {
    const m = r as { path?: unknown; params?: Record<string, unknown>; pattern?: unknown };
    return { path: typeof m.path === 'string' ? m.path : '', params: m.params ?? {}, pattern: m.pattern };
  }
  return undefined;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Which segment of the matched path holds parameter `name`; probes the matcher when several could. */
function segmentOf(layer: LayerLike, name: string, value: string, segs: string[], out: string[], rest: string): number {
  const candidates: number[] = [];
  for (let j = 1; j < segs.length; j++) if (out[j] === segs[j] && decode(segs[j] as string) === value) candidates.push(j);
  if (candidates.length <= 1) return candidates[0] ?? -1;
  for (const j of candidates) {
    const probe = [...segs];
    probe[j] = PROBE;
    if (matchLayer(layer, probe.join('/') + rest)?.params[name] === PROBE) return j;
  }
  return -1;
}

/**
 * Recovers a layer's mount pattern from one concrete match; `stable` when every parameter was present. `undefined`
 * when it cannot be told, and whenever a segment left as matched is not confirmed as literal text: a RegExp mount
 * (`/^\/u\/\d+/`) has no parameters, and its concrete path must never become a label.
 */
function probeTemplate(layer: LayerLike, path: string, m: Match): { template: string; stable: boolean } | undefined {
  const segs = m.path.split('/');
  const out = [...segs];
  const rest = path.slice(m.path.length);
  let stable = true;
  for (const name of Object.keys(m.params)) {
    const value = m.params[name];
    if (value === undefined) {
      stable = false;
      continue;
    }
    if (typeof value !== 'string') return undefined;
    const j = segmentOf(layer, name, value, segs, out, rest);
    if (j >= 0) out[j] = `:${name}`;
    else if (!markPartial(layer, name, value, segs, out, rest)) return undefined;
  }
  for (let j = 1; j < segs.length; j++) {
    if (out[j] === segs[j] && segs[j] !== '' && !isLiteral(layer, j, segs, rest)) return undefined;
  }
  return { template: trimSlash(out.filter((seg, i) => seg !== '*' || out[i - 1] !== '*').join('/')), stable };
}

/** Each letter and digit moved to the next one (`z` to `a`, `9` to `0`): another value of the same shape. */
function shifted(segment: string): string {
  let out = '';
  for (const ch of segment) {
    const c = ch.charCodeAt(0);
    if (c >= 48 && c <= 57) out += String.fromCharCode(48 + ((c - 47) % 10));
    else if (c >= 97 && c <= 122) out += String.fromCharCode(97 + ((c - 96) % 26));
    else if (c >= 65 && c <= 90) out += String.fromCharCode(65 + ((c - 64) % 26));
    else out += ch;
  }
  return out;
}

/** Whether segment `j` is literal text of the pattern: the matcher refuses it swapped for a probe or a look-alike. */
function isLiteral(layer: LayerLike, j: number, segs: readonly string[], rest: string): boolean {
  const seg = segs[j] as string;
  for (const other of [PROBE, encodeURIComponent(shifted(decode(seg)))]) {
    if (other === seg) continue;
    const probe = [...segs];
    probe[j] = other;
    if (matchLayer(layer, probe.join('/') + rest) !== undefined) return false;
  }
  return true;
}

/** Whether a layer's RegExp (lookaheads and the end aside) has alternatives (`app.use(['/a', '/b'])` in Express 4). */
function hasAlternation(layer: LayerLike): boolean {
  const re = (layer as { regexp?: unknown }).regexp;
  if (!(re instanceof RegExp)) return false;
  const bare = re.source
    .replace(/\\./g, '')
    .replace(/\[(?:\\.|[^\]])*\]/g, '')
    .replace(/\(\?<?[=!][^()]*\)/g, '');
  return bare.includes('|');
}

/**
 * A layer's pattern when it cannot be recovered as a template: the text of its RegExp (as Express 5 labels a RegExp
 * mount), never a concrete path. `undefined` when the layer keeps no RegExp.
 */
function layerText(layer: LayerLike): string | undefined {
  const re = (layer as { regexp?: unknown }).regexp;
  return re instanceof RegExp ? trimSlash(String(re)) : undefined;
}

/**
 * A parameter sharing its segment with other text (`/:name.:ext`) or spanning segments: each segment holding part of
 * it, as the matcher confirms when that part is swapped for a probe, becomes `*`.
 */
function markPartial(layer: LayerLike, name: string, value: string, segs: string[], out: string[], rest: string): boolean {
  let marked = false;
  for (const part of value.split('/')) {
    if (part === '') continue;
    for (let j = 1; j < segs.length; j++) {
      const seg = decode(segs[j] as string);
      if ((out[j] !== segs[j] && out[j] !== '*') || !seg.includes(part)) continue;
      const probe = [...segs];
      probe[j] = encodeURIComponent(seg.replace(part, PROBE));
      const got = matchLayer(layer, probe.join('/') + rest)?.params[name];
      if (typeof got === 'string' && got.includes(PROBE)) {
        out[j] = '*';
        marked = true;
        break;
      }
    }
  }
  return marked;
}

/**
 * A layer's pattern from one concrete match of `path`: the alternative router >= 2.3 reports, else probed. Cached
 * when every parameter was present and every other segment confirmed literal. A layer with alternatives, or one
 * whose template cannot be told, gets the text of its RegExp (cached) or `undefined` when it keeps none.
 */
export function learnPattern(layer: LayerLike, path: string, m: Match): string | undefined {
  if (typeof m.pattern === 'string') return trimSlash(m.pattern);
  const p = hasAlternation(layer) ? undefined : probeTemplate(layer, path, m);
  if (p === undefined) {
    const text = layerText(layer);
    if (text !== undefined) layerPatterns.set(layer, text);
    return text;
  }
  if (p.stable) layerPatterns.set(layer, p.template);
  return p.template;
}

/** Whether the layer's pattern is known for good. */
export function isLearned(layer: LayerLike): boolean {
  return layerPatterns.has(layer);
}
