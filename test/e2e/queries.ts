/** The queries the samples ship, in the form the end-to-end suite sends them to Prometheus. */

export interface PanelQuery {
  readonly panel: string;
  readonly expr: string;
}

/** Names of the alerts (`- alert: Name`) or recording rules (`- record: name`) in a rule file, in order. */
export function ruleNames(yamlText: string, kind: 'alert' | 'record'): string[] {
  const re = new RegExp(`^\\s*-\\s*${kind}:\\s*(\\S+)\\s*$`, 'gm');
  return [...yamlText.matchAll(re)].map((m) => m[1] as string);
}

/**
 * Every target expression of a Grafana dashboard, with its variables replaced the way "All" and a short range
 * resolve them: `$service` and `$instance` match anything, `$__rate_interval` is `rateInterval`.
 */
export function dashboardQueries(dashboardJson: string, rateInterval = '1m'): PanelQuery[] {
  const dashboard = JSON.parse(dashboardJson) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      panel: p.title,
      expr: t.expr
        .replaceAll('$__rate_interval', rateInterval)
        .replaceAll('$service', '.*')
        .replaceAll('$instance', '.*'),
    })),
  );
}

/**
 * The signal an alert watches: its expression without the final threshold comparison
 * (`x > 0.05` gives `x`), so the suite can check the signal has data even while the alert is quiet.
 */
export function alertSignal(expr: string): string {
  const m = /^([\s\S]*?)\s*(?:==|!=|>=|<=|>|<)\s*[-+]?[\d.]+(?:e[-+]?\d+)?\s*$/i.exec(expr.trim());
  return m ? (m[1] as string) : expr;
}
