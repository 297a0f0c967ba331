/**
 * Highlight markers the engines put around matched terms: private-use characters, stripped from
 * indexed text, so a post can never forge one. They are turned into tags only after the text
 * itself is HTML-escaped, so a snippet is safe to insert into a results page as HTML.
 */
export const HIGHLIGHT_START = '\uE000';
export const HIGHLIGHT_STOP = '\uE001';

const MARKERS = /[\uE000\uE001]/g;

// '&' first: the SQL form applies these in order, and must not escape its own entities again.
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Removes any marker the author typed, before the text reaches an engine. */
export function withoutHighlightMarkers(text: string): string {
  return text.replace(MARKERS, '');
}

/** Turns the markers of an already escaped excerpt into `<mark>` tags. */
export function markHighlights(escaped: string): string {
  return escaped.replaceAll(HIGHLIGHT_START, '<mark>').replaceAll(HIGHLIGHT_STOP, '</mark>');
}

/** An engine's marked plain-text excerpt as HTML: escaped text, matched terms in `<mark>`. */
export function snippetHtml(marked: string): string {
  return markHighlights(marked.replace(/[&<>"']/g, (c) => ESCAPES[c]!));
}

/**
 * The same escaping as SQL over a text column, for ts_headline: its parser drops anything
 * shaped like a tag, so the text is escaped before it is parsed, and entities pass through.
 */
export const escapedSql = (column: string): string =>
  Object.entries(ESCAPES).reduce(
    (sql, [char, entity]) => `replace(${sql}, '${char.replace("'", "''")}', '${entity}')`,
    column,
  );
