import type { Knex } from 'knex';
import type { SharedConfig } from '../../../config/shared.ts';
import { createMeilisearchEngine } from './meilisearch-engine.ts';
import { createPostgresSearchEngine } from './postgres-engine.ts';
import type { SearchEngine } from './search-engine.ts';

/** `db` is the write pool; the PostgreSQL engine both indexes and searches through it. */
export function createSearchEngine(config: SharedConfig['search'], db: Knex): SearchEngine {
  if (config.engine === 'meilisearch') {
    // The config schema already refuses meilisearch without a URL; this narrows the type.
    if (!config.meilisearchUrl)
      throw new Error('MEILISEARCH_URL is required when SEARCH_ENGINE=meilisearch');
    return createMeilisearchEngine({
      url: config.meilisearchUrl,
      apiKey: config.meilisearchApiKey,
    });
  }
  return createPostgresSearchEngine(db);
}
