import { prepareStack } from '../support/stack-profile.ts';
import { soak } from './support/mode.ts';
import { resetReport, writeReport, REPORT_MARKDOWN } from './support/report.ts';

export function setup(): () => void {
  prepareStack('reliability');
  resetReport();
  return () => {
    const table = writeReport(
      `Reliability run of ${new Date().toISOString()} (${soak ? 'soak' : 'default'} mode)`,
    );
    process.stdout.write(`\n${table}\n(also in ${REPORT_MARKDOWN})\n`);
  };
}
