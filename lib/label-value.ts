/** Control characters (C0, DEL, C1) and any UTF-16 surrogate: what a label value must be cleaned of. */
const NEEDS_CLEANING = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** What a control character in a label value becomes. */
export const CONTROL_REPLACEMENT = '_';

function toText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return '';
    default:
      if (value === null) return '';
      try {
        return String(value);
      } catch {
        return '';
      }
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Turns anything into a safe Prometheus label value: `undefined`/`null` become `""`, control characters become
 * {@link CONTROL_REPLACEMENT}, lone surrogates become U+FFFD, and the result is cut to `maxLength` UTF-16 code units
 * without splitting a surrogate pair. Quotes and backslashes are kept; the exposition escapes them.
 */
export function sanitizeLabelValue(value: unknown, maxLength: number): string {
  let text = toText(value);
  if (NEEDS_CLEANING.test(text)) {
    text = text.replace(CONTROL, CONTROL_REPLACEMENT).toWellFormed();
  }
  if (text.length > maxLength) {
    let end = maxLength;
    if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
    text = text.slice(0, end);
  }
  return text;
}

/** Escapes a clean label value for the text exposition formats (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}
