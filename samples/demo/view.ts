import { renderReport } from '../../cli/table.js';
import { createStatWatcher, type StatReport } from '../../cli/watcher.js';
import type { Demo } from './demo.js';

/** The live view: the `mesh-metrics stat` table over every endpoint of the demo, plus the latest events. */
export interface DemoView {
  /** Scrapes and renders once; returns the text written. */
  refresh(): Promise<string>;
  readonly last: StatReport | undefined;
}

export function createDemoView(demo: Demo, write: (text: string) => void, clearScreen: boolean): DemoView {
  const watcher = createStatWatcher(demo.metricsUrls, { byInstance: true, timeoutMs: 1_500 });
  let last: StatReport | undefined;
  return {
    get last() {
      return last;
    },
    async refresh() {
      last = await watcher.tick();
      const events = demo.events.recent(6);
      const text =
        (clearScreen ? '\x1b[H\x1b[2J' : '') +
        renderReport(last) +
        `\nEVENTS (breaker and outlier ejection)\n${events.length > 0 ? events.join('\n') : '(none yet)'}\n\n`;
      write(text);
      return text;
    },
  };
}
