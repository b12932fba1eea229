/**
 * Turns prom-client's OpenMetrics exposition back into the Prometheus text format 0.0.4, for a scrape of an
 * OpenMetrics registry that did not ask for OpenMetrics: counter families take back their `_total` name, exemplars,
 * `# UNIT` lines and `# EOF` are dropped, `unknown` becomes `untyped`, and families are separated by a blank line as
 * prom-client's own text output is. For a registry holding the same metrics, the result equals what a text registry
 * renders (counters named with `_total`, as the kit's are).
 */
export function openMetricsToText(openMetrics: string): string {
  const out: string[] = [];
  let help: string | undefined;
  for (const line of openMetrics.split('\n')) {
    if (line === '' || line === '# EOF' || line.startsWith('# UNIT ')) continue;
    if (line.startsWith('# HELP ')) {
      help = line;
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name = '', type = ''] = line.slice(7).split(' ');
      const textName = type === 'counter' && !name.endsWith('_total') ? `${name}_total` : name;
      if (out.length > 0) out.push('');
      if (help !== undefined) out.push(`# HELP ${textName}${help.slice(7 + name.length)}`);
      out.push(`# TYPE ${textName} ${type === 'unknown' ? 'untyped' : type}`);
      help = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    out.push(withoutExemplar(line));
  }
  return out.length === 0 ? '\n' : `${out.join('\n')}\n`;
}

/** A sample line without its ` # {…} value [timestamp]` exemplar; label values may hold `#`, quotes and braces. */
function withoutExemplar(line: string): string {
  let i = 0;
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace >= 0 && (space < 0 || brace < space)) {
    let quoted = false;
    for (i = brace + 1; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (quoted) {
        if (c === 92) i++; // backslash escape
        else if (c === 34) quoted = false;
      } else if (c === 34) quoted = true;
      else if (c === 125) break; // closing brace
    }
  }
  const exemplar = line.indexOf(' # ', i);
  return exemplar < 0 ? line : line.slice(0, exemplar);
}
