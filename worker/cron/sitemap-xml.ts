/** Rendering for the sitemap protocol (sitemaps.org 0.9); pure, so the job only moves data. */

const NAMESPACE = 'http://www.sitemaps.org/schemas/sitemap/0.9';

export interface SitemapEntry {
  loc: string;
  lastmod: Date;
}

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

function entries(tag: string, items: readonly SitemapEntry[]): string {
  return items
    .map(
      (item) =>
        `<${tag}><loc>${escapeXml(item.loc)}</loc><lastmod>${item.lastmod.toISOString()}</lastmod></${tag}>\n`,
    )
    .join('');
}

export function renderUrlset(urls: readonly SitemapEntry[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="${NAMESPACE}">\n${entries('url', urls)}</urlset>\n`;
}

export function renderSitemapIndex(sitemaps: readonly SitemapEntry[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="${NAMESPACE}">\n${entries('sitemap', sitemaps)}</sitemapindex>\n`;
}
