/**
 * Characters a terminal may act on instead of showing: C0 controls (ESC, BEL, CR, backspace, ...), DEL, C1 controls
 * (U+0080–U+009F, where U+009B is a one-byte CSI), the line and paragraph separators, and the bidirectional
 * overrides and isolates that reorder what follows them. Newlines are the CLI's own and are kept by
 * {@link terminalSafe} only.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A scraped or user-given string (a label value, a URL, an error message) made safe to print: every control
 * character, newlines included, is written as a visible escape (`\x1b`, `\x07`, `\u202e`), so a hostile endpoint
 * cannot move the cursor, clear the screen, set the window title or hide text.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** Text about to be written to the terminal: like {@link printable}, but the CLI's own newlines stay. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, escape);
}

/**
 * JSON for the terminal: `JSON.stringify` escapes C0 controls but leaves DEL, C1 controls, the separators and the
 * bidi controls raw; they are written as `\u` escapes, which every JSON parser reads back as the same string.
 */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
