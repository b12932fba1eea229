import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALL_DOWN_EXIT_CODE, main } from '../cli/cli.js';
import { printable, terminalSafe, terminalSafeJson } from '../cli/sanitize.js';

/** Any character a terminal could act on, other than the newline the CLI writes itself. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J';
const C1_CSI = '\u009b2J';
const BIDI = '\u202egnp.exe';

/** An endpoint whose label values carry terminal escape sequences. */
function hostileText(count: number): string {
  const svc = `users${TITLE}`;
  const inst = `http://10.0.0.1:80${CLEAR}`;
  const route = `/x${C1_CSI}${BIDI}\\n`; // an escaped newline in the exposition: a real newline in the value
  return `# TYPE mesh_calls_total counter
mesh_calls_total{service="${svc}",operation="get",status="success"} ${count}
# TYPE mesh_lb_requests_total counter
mesh_lb_requests_total{service="${svc}",instance="${inst}",strategy="round_robin"} ${count}
# TYPE mesh_lb_instance_health_score gauge
mesh_lb_instance_health_score{service="${svc}",instance="${inst}"} 1
# TYPE mesh_http_server_request_duration_seconds histogram
mesh_http_server_request_duration_seconds_bucket{le="+Inf",service="api\x1b[31m",method="GET",route="${route}",status_code="200"} ${count}
mesh_http_server_request_duration_seconds_count{service="api\x1b[31m",method="GET",route="${route}",status_code="200"} ${count}
`;
}

async function serve(handler: (n: number) => string): Promise<{ url: string; server: Server }> {
  let n = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(handler(++n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, server };
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function capture(): { io: { out(t: string): void; err(t: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => void out.push(t), err: (t) => void err.push(t) }, out, err };
}

describe('mesh-metrics stat: what reaches the terminal', () => {
  let hostile: { url: string; server: Server };
  before(async () => {
    hostile = await serve((n) => hostileText(n * 10));
  });
  after(() => {
    hostile.server.closeAllConnections();
    hostile.server.close();
  });

  it('writes control characters as visible escapes', () => {
    expect(printable(`a${TITLE}b`)).to.equal('a\\x1b]0;pwned\\x07b');
    expect(printable(`${C1_CSI}\n${BIDI}\u2028\x7f`)).to.equal('\\x9b2J\\x0a\\u202egnp.exe\\u2028\\x7f');
    expect(terminalSafe(`line 1\nline 2\r${CLEAR}`)).to.equal('line 1\nline 2\\x0d\\x1b[2J');
    const json = terminalSafeJson({ v: `${TITLE}${C1_CSI}${BIDI}` });
    expect(json).not.to.match(RAW_CONTROL);
    expect(JSON.parse(json)).to.deep.equal({ v: `${TITLE}${C1_CSI}${BIDI}` });
  });

  it('prints hostile label values, and a URL with escapes, in the table without raw control characters', async () => {
    const c = capture();
    const url = `${hostile.url}?${CLEAR}`;
    const code = await main(['stat', '--once', '--by-instance', '--interval', '0.1', url], c.io);
    const text = c.out.join('');
    expect(code).to.equal(0);
    expect(text).not.to.match(RAW_CONTROL);
    expect(text).to.match(/^users\\x1b\]0;pwned\\x07\s+[\d.]+\s+100%/m);
    expect(text).to.include('  http://10.0.0.1:80\\x1b[2J');
    expect(text).to.match(/^api\\x1b\[31m\s+[\d.]+\s+100%/m);
    expect(text).to.include('  GET /x\\x9b2J\\u202egnp.exe\\x0a');
    expect(text).to.include(`/metrics?\\x1b[2J  up`);
    // columns still line up: the escapes are counted at the width they are shown
    const rows = text.split('\n').filter((l) => l.startsWith('OUTBOUND') || l.startsWith('users'));
    expect(rows[1]?.indexOf('100%')).to.equal((rows[0]?.indexOf('SUCCESS') ?? 0) + 'SUCCESS'.length - 4);
  });

  it('prints JSON (the bin entry) that parses back to the exact label values, with no raw control character', async () => {
    const r = await runCli(['stat', '--once', '--json', '--interval', '0.1', hostile.url]);
    expect(r.code).to.equal(0);
    expect(r.stdout).not.to.match(RAW_CONTROL);
    const report = JSON.parse(r.stdout) as {
      outbound: { service: string }[];
      inbound: { service: string; routes: { route: string }[] }[];
    };
    expect(report.outbound.map((s) => s.service)).to.deep.equal([`users${TITLE}`]);
    expect(report.inbound[0]?.service).to.equal('api\x1b[31m');
    expect(report.inbound[0]?.routes[0]?.route).to.equal(`/x${C1_CSI}${BIDI}\n`);
  });

  it('quotes bad arguments and unknown commands without their control characters', async () => {
    const c = capture();
    expect(await main([`top${CLEAR}`], c.io)).to.equal(2);
    expect(await main(['stat', '--interval', `${C1_CSI}soon`, hostile.url], c.io)).to.equal(2);
    expect(await main(['stat', `ftp://x/${TITLE}`], c.io)).to.equal(2);
    const text = c.err.join('');
    expect(text).not.to.match(RAW_CONTROL);
    expect(text).to.include('unknown command "top\\u001b[2J"');
    expect(text).to.include('--interval must be a positive number of seconds, got "\\x9b2Jsoon"');
    expect(text).to.include('metrics URL: not an http(s) URL: "ftp://x/\\u001b]0;pwned\\u0007"');
  });
});

describe('mesh-metrics CLI: exit codes and --version', () => {
  it('stat --once exits non-zero when every endpoint is down, 0 when one is up', async () => {
    const closed = await serve(() => '');
    const closedUrl = closed.url;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const other = await serve(() => '');
    const otherUrl = other.url;
    await new Promise<void>((resolve) => other.server.close(() => resolve()));

    const one = await runCli(['stat', '--once', '--interval', '0.1', closedUrl]);
    expect(one.code).to.equal(ALL_DOWN_EXIT_CODE);
    expect(one.stdout).to.include(`${closedUrl}  DOWN (ECONNREFUSED)`);
    expect(one.stderr).to.equal('mesh-metrics stat: the endpoint could not be scraped\n');

    const c = capture();
    expect(await main(['stat', '--once', '--json', '--interval', '0.1', closedUrl, otherUrl], c.io)).to.equal(1);
    expect(c.err.join('')).to.equal('mesh-metrics stat: none of the 2 endpoints could be scraped\n');

    const up = await serve(() => '# TYPE x gauge\nx 1\n');
    try {
      expect(await main(['stat', '--once', '--interval', '0.1', closedUrl, up.url], capture().io)).to.equal(0);
    } finally {
      up.server.close();
    }
  });

  it('--version (and -v) prints the package version, from the bin entry too', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const c = capture();
    expect(await main(['--version'], c.io)).to.equal(0);
    expect(await main(['-v'], c.io)).to.equal(0);
    expect(c.out).to.deep.equal([`${version}\n`, `${version}\n`]);
    const r = await runCli(['--version']);
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([0, `${version}\n`, '']);
    const help = capture();
    expect(await main(['--help'], help.io)).to.equal(0);
    expect(help.out.join('')).to.include('-v, --version');
  });
});
