/** One scrape of a Prometheus endpoint. */
export interface MetricsScrape {
  /**
   * The value of a counter or gauge, summed over the series whose labels include `labels`; 0
   * when the metric is declared but no series matches (a labelled counter never incremented
   * exports none yet). A metric the process does not declare at all is an error.
   */
  value(name: string, labels?: Record<string, string>): number;
}

export function parseMetrics(text: string, source = 'metrics'): MetricsScrape {
  const lines = text.split('\n');
  return {
    value(name, labels = {}) {
      const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
      let total = 0;
      let declared =
        lines.includes(`# TYPE ${name} counter`) || lines.includes(`# TYPE ${name} gauge`);
      for (const line of lines) {
        const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        declared = true;
        const series = match[2] ?? '';
        if (wanted.every((pair) => series.split(',').includes(pair))) total += Number(match[3]);
      }
      if (!declared) throw new Error(`${name} is not in ${source}`);
      return total;
    },
  };
}

export async function scrapeMetrics(metricsUrl: string): Promise<MetricsScrape> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`${metricsUrl} answered ${response.status}`);
  return parseMetrics(await response.text(), metricsUrl);
}

export async function readMetric(
  metricsUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return (await scrapeMetrics(metricsUrl)).value(name, labels);
}
