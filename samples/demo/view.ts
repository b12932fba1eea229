import { fitWidth, renderReport } from '../../cli/table.js';
import { createStatWatcher, type StatReport } from '../../cli/watcher.js';
import type { Demo } from './demo.js';

/** The live view: the `mesh-metrics stat` table over every endpoint of the demo, plus the latest events. */
export interface DemoView {
  /** Scrapes and renders once; returns the text written. */
  refresh(): Promise<string>;
  readonly last: StatReport | undefined;
}

/** The terminal the view is drawn in; its size is read at each refresh (a window can be resized). */
export interface ViewTerminal {
  /** Clear the screen before each refresh (a TTY). */
  readonly clearScreen: boolean;
  /** Columns available; wider views get the narrow layout, then lines are cut. @defaultValue no limit */
  readonly columns?: () => number | undefined;
  /** Rows available; fewer events are listed so the view fits. @defaultValue no limit */
  readonly rows?: () => number | undefined;
}

const MAX_EVENTS = 6;
const EVENTS_TITLE = 'EVENTS (breaker and outlier ejection)';

/** The terminal `process.stdout` is: cleared and measured when it is a TTY, neither when it is a pipe. */
export function stdoutTerminal(): ViewTerminal {
  const tty = Boolean(process.stdout.isTTY);
  return tty
    ? { clearScreen: true, columns: () => process.stdout.columns, rows: () => process.stdout.rows }
    : { clearScreen: false };
}

/**
 * Rows the view needs besides the table and the events: the blank line under the table, the events' title, the
 * blank line under the events, and the row the cursor is left on (a newline on the last row scrolls the screen).
 */
const FRAME_ROWS = 4;

/** How many events fit under a table of `tableLines` lines in `rows` rows. */
function eventsThatFit(tableLines: number, rows: number | undefined): number {
  if (rows === undefined || !(rows > 0)) return MAX_EVENTS;
  return Math.max(1, Math.min(MAX_EVENTS, rows - tableLines - FRAME_ROWS));
}

export function createDemoView(demo: Demo, write: (text: string) => void, terminal: ViewTerminal): DemoView {
  const watcher = createStatWatcher(demo.metricsUrls, { byInstance: true, timeoutMs: 1_500 });
  let last: StatReport | undefined;
  return {
    get last() {
      return last;
    },
    async refresh() {
      last = await watcher.tick();
      const width = terminal.columns?.();
      const rows = terminal.rows?.();
      // room for the frame and at least one event
      const height = rows !== undefined && rows > 0 ? Math.max(1, rows - FRAME_ROWS - 1) : undefined;
      const table = renderReport(last, { ...(width === undefined ? {} : { width }), ...(height === undefined ? {} : { height }) });
      const tableLines = table.split('\n').length - 1; // it ends with a newline
      const events = demo.events.recent(eventsThatFit(tableLines, rows));
      const cut = (line: string): string => (width === undefined ? line : fitWidth(line, width));
      const text =
        (terminal.clearScreen ? '\x1b[H\x1b[2J' : '') +
        table +
        `\n${cut(EVENTS_TITLE)}\n${(events.length > 0 ? events : ['(none yet)']).map(cut).join('\n')}\n\n`;
      write(text);
      return text;
    },
  };
}
