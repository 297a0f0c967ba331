/**
 * The value of a counter or gauge on a process's Prometheus endpoint, summed over the series
 * whose labels include `labels`; 0 when no series matches (a counter never incremented is
 * not exported per label yet).
 */
export async function readMetric(
  metricsUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`${metricsUrl} answered ${response.status}`);
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  let total = 0;
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = match[2] ?? '';
    if (wanted.every((pair) => series.split(',').includes(pair))) total += Number(match[3]);
  }
  return total;
}
