/** One scrape: every sample by its series (`name{label="v",...}` exactly as exposed). */
export type Scrape = ReadonlyMap<string, number>;

/** Parses the Prometheus text format into samples; comments are skipped. */
export function parseMetrics(text: string): Scrape {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Fetches and parses `url` (a `/metrics` address), with a bearer token when given. */
export async function scrape(url: string, token?: string): Promise<Scrape> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (response.status !== 200) throw new Error(`scrape of ${url} answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** How much each series in `after` moved since `before` (series new in `after` count from 0). */
export function delta(before: Scrape, after: Scrape, series: string): number {
  return (after.get(series) ?? 0) - (before.get(series) ?? 0);
}
