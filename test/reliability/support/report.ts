import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

/** One row of docs/reliability.md's table: what a scenario ran and what it lost. */
export interface ScenarioResult {
  scenario: string;
  /** Requests (or jobs, events, inputs) the scenario sent, counted, not estimated. */
  requests: number;
  /** The faults it injected, `none` when it injected none. */
  faults: string;
  /** Responses with a 5xx status outside the documented 502/503s. */
  unexpected5xx: number;
  /** Acknowledged writes, jobs or events that did not arrive. */
  lost: number;
  /** Figures worth quoting: a p99, a throughput ratio, a seed. */
  notes?: string;
}

const REPORT_DIR = '.stack/reliability';
const RESULTS = `${REPORT_DIR}/results.jsonl`;
export const REPORT_MARKDOWN = `${REPORT_DIR}/report.md`;

/** Called by each scenario once it has its figures; the run's teardown turns them into the table. */
export function recordScenario(result: ScenarioResult): void {
  mkdirSync(REPORT_DIR, { recursive: true });
  appendFileSync(RESULTS, `${JSON.stringify(result)}\n`);
}

export function resetReport(): void {
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(RESULTS, '');
}

/** The table docs/reliability.md quotes, written to .stack/reliability/report.md and returned. */
export function writeReport(header: string): string {
  const rows = existsSync(RESULTS)
    ? readFileSync(RESULTS, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ScenarioResult)
    : [];
  const cell = (value: string | number) => String(value).replaceAll('|', '\\|');
  const lines = [
    header,
    '',
    '| scenario | requests | faults injected | 5xx outside the documented set | data lost | notes |',
    '|---|---:|---|---:|---:|---|',
    ...rows.map((row) =>
      [row.scenario, row.requests, row.faults, row.unexpected5xx, row.lost, row.notes ?? '']
        .map(cell)
        .join(' | ')
        .replace(/^/, '| ')
        .replace(/$/, ' |'),
    ),
  ];
  const markdown = `${lines.join('\n')}\n`;
  writeFileSync(REPORT_MARKDOWN, markdown);
  return markdown;
}
