import { get } from 'node:http';
import { createInterface } from 'node:readline';

// Run as its own process by prober.ts, so what it measures is the server's answer time and
// not the event loop of a test process that is busy being the attacker.
const [url = '', intervalArg = '20'] = process.argv.slice(2);
const intervalMs = Number(intervalArg);

let latencies: number[] = [];
let failures = 0;

/** One GET on a new connection (no agent), so accepting a socket is part of what is timed. */
function probe(): Promise<void> {
  const started = performance.now();
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 5000 }, (response) => {
      response.resume();
      response.once('end', () => {
        if (response.statusCode === 204) latencies.push(performance.now() - started);
        else failures += 1;
        resolve();
      });
    });
    request.once('timeout', () => request.destroy(new Error('timeout')));
    request.once('error', () => {
      failures += 1;
      resolve();
    });
  });
}

async function loop(): Promise<void> {
  for (;;) {
    const next = performance.now() + intervalMs;
    await probe();
    const pause = next - performance.now();
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

// Each `report` line on stdin answers with the probes since the last report, then resets.
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'report') return;
  process.stdout.write(`${JSON.stringify({ latencies, failures })}\n`);
  latencies = [];
  failures = 0;
});
process.stdin.once('end', () => process.exit(0));
void loop();
