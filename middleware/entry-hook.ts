/**
 * Hooks an app's own request entry (Express's `app.handle`, Koa's `handleRequest`): the method is replaced by an own
 * property that runs every instrumentation's `begin` and then the original, and is put back as it was when the last
 * instrumentation of that app is disposed. One hook per app and method, however many instrumentations it carries.
 */

/** The instrumentations of one hooked method, read by the wrapper on every call. */
export interface EntryHook<B> {
  readonly begins: readonly B[];
}

/** Builds the replacement of `original`, reading `hook.begins` per call. */
export type EntryWrapper<B> = (original: (...args: never[]) => unknown, hook: EntryHook<B>) => (...args: never[]) => unknown;

interface Installed {
  begins: readonly unknown[];
  readonly restore: () => void;
}

const installed = new WeakMap<object, Map<string, Installed>>();

function install(target: Record<string, unknown>, name: string, wrapper: EntryWrapper<unknown>): Installed {
  const had = Object.prototype.hasOwnProperty.call(target, name);
  const own = target[name];
  const entry: Installed = {
    begins: [],
    restore: () => {
      // Someone hooked the method after us: ours stays under theirs as a pass-through (no begins left).
      if (target[name] !== hooked) return;
      if (had) target[name] = own;
      else delete target[name];
    },
  };
  const hooked = wrapper(target[name] as (...args: never[]) => unknown, entry);
  target[name] = hooked;
  return entry;
}

/**
 * Adds `begin` to the hook of `target[name]` (installing it with `wrapper` the first time); the returned function
 * takes it out again, and removes the hook with the last one.
 */
export function addEntryHook<B>(target: object, name: string, begin: B, wrapper: EntryWrapper<B>): () => void {
  const hooks = installed.get(target) ?? new Map<string, Installed>();
  installed.set(target, hooks);
  const entry = hooks.get(name) ?? install(target as Record<string, unknown>, name, wrapper as EntryWrapper<unknown>);
  hooks.set(name, entry);
  entry.begins = [...entry.begins, begin];
  let done = false;
  return () => {
    if (done) return;
    done = true;
    entry.begins = entry.begins.filter((b) => b !== begin);
    if (entry.begins.length > 0) return;
    hooks.delete(name);
    entry.restore();
  };
}
