import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePromtool } from './helpers/exposition.js';
import { dashboardQueries, ruleNames } from './e2e/queries.js';

const DIR = 'samples/prometheus';

function promtool(args: string[], cwd = DIR): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('samples/prometheus rules, alerts and dashboard', function () {
  before(function () {
    if (!havePromtool()) {
      console.log('    SKIP: promtool is not installed (Debian package "prometheus"); rules not checked');
      this.skip();
    }
  });

  it('promtool check rules accepts rules.yml and alerts.yml', () => {
    const r = promtool(['check', 'rules', 'rules.yml', 'alerts.yml']);
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.include('SUCCESS: 10 rules found');
    expect(r.output).to.include('SUCCESS: 8 rules found');
  });

  it('promtool test rules passes the recording-rule and alert unit tests', () => {
    const r = promtool(['test', 'rules', 'rules.test.yml', 'alerts.test.yml']);
    expect(r.status, r.output).to.equal(0);
    expect(r.output.match(/SUCCESS/g)).to.have.length(2);
  });

  it('promtool check config accepts prometheus.yml', () => {
    const r = promtool(['check', 'config', 'prometheus.yml']);
    expect(r.status, r.output).to.equal(0);
  });

  it('takes inbound latency percentiles from the first-byte family, never from the last-byte duration', () => {
    const files = ['rules.yml', 'alerts.yml', 'dashboard.json'].map((f) => readFileSync(join(DIR, f), 'utf8')).join('\n');
    const quantiles = [...files.matchAll(/histogram_quantile\([\s\S]*?(mesh_\w+)_bucket/g)].map((m) => m[1] as string);
    const inbound = quantiles.filter((q) => q.startsWith('mesh_http_server_'));
    expect(inbound.length).to.equal(3); // the p50 and p99 recording rules, the dashboard's p99 panel
    expect(new Set(inbound)).to.deep.equal(new Set(['mesh_http_server_response_first_byte_seconds']));
  });

  it('defines the alerts the issue lists', () => {
    const alerts = ruleNames(readFileSync(join(DIR, 'alerts.yml'), 'utf8'), 'alert');
    expect(alerts).to.deep.equal([
      'MeshHighErrorRatio',
      'MeshCircuitOpen',
      'MeshNoHealthyInstances',
      'MeshRetryStorm',
      'MeshInstanceEjected',
      'MeshRetryBudgetExhausted',
      'MeshInboundSlowResponses',
      'MeshMetricsCardinalityOverflow',
    ]);
  });

  it('every dashboard query is valid PromQL, and the dashboard has service and instance variables', () => {
    const dashboard = JSON.parse(readFileSync(join(DIR, 'dashboard.json'), 'utf8')) as {
      templating: { list: { name: string }[] };
    };
    expect(dashboard.templating.list.map((v) => v.name)).to.include.members(['service', 'instance']);
    const queries = dashboardQueries(readFileSync(join(DIR, 'dashboard.json'), 'utf8'));
    expect(queries.length).to.be.greaterThan(15);
    // promtool has no offline PromQL checker of its own; a rule file made of the queries is parsed the same way.
    const dir = mkdtempSync(join(tmpdir(), 'mesh-dashboard-'));
    try {
      const rules = queries.map((q, i) => `      - record: panel_${i}\n        expr: ${JSON.stringify(q.expr)}`).join('\n');
      writeFileSync(join(dir, 'panels.yml'), `groups:\n  - name: panels\n    rules:\n${rules}\n`);
      const r = promtool(['check', 'rules', 'panels.yml'], dir);
      expect(r.status, r.output).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
