import { Meilisearch } from 'meilisearch';
import type { EnqueuedTaskPromise, Settings } from 'meilisearch';
import type {
  PostDocument,
  PostHit,
  SearchEngine,
  SearchResult,
  UserDocument,
  UserHit,
} from './search-engine.ts';
import {
  HIGHLIGHT_START,
  HIGHLIGHT_STOP,
  snippetHtml,
  withoutHighlightMarkers,
} from './search-snippet.ts';

export interface MeilisearchOptions {
  url: string;
  apiKey: string | undefined;
}

interface MeiliPost {
  id: string;
  author_id: string;
  title: string;
  content: string;
  /** Epoch ms; Meilisearch has no date type. */
  updated_at: number;
}

const POSTS = 'posts';
const USERS = 'users';

const indexSettings: Record<string, Settings> = {
  [POSTS]: {
    searchableAttributes: ['title', 'content'],
    filterableAttributes: ['author_id'],
  },
  [USERS]: {
    searchableAttributes: ['handle', 'display_name', 'bio'],
    // An empty query lists users by handle.
    sortableAttributes: ['handle'],
  },
};

const SNIPPET_WORDS = 30;

/**
 * Meilisearch applies writes asynchronously; every write here waits for its task and throws
 * when the task failed, so an index job is only acknowledged once the change is searchable.
 */
async function settle(task: EnqueuedTaskPromise, what: string): Promise<void> {
  const done = await task.waitTask();
  if (done.status !== 'succeeded') {
    throw new Error(
      `Meilisearch ${what} ${done.status}: ${done.error?.message ?? 'no error message'}`,
    );
  }
}

export function createMeilisearchEngine(options: MeilisearchOptions): SearchEngine {
  const client = new Meilisearch({
    host: options.url,
    apiKey: options.apiKey,
    timeout: 10_000,
    defaultWaitOptions: { timeout: 20_000, interval: 100 },
  });
  const posts = client.index<MeiliPost>(POSTS);
  const users = client.index<UserDocument>(USERS);
  // Both document types have several attributes ending in "id", so Meilisearch cannot infer
  // the primary key: name it on every write in case the index was created implicitly.
  const primaryKey = { primaryKey: 'id' };

  return {
    async indexPost(doc: PostDocument) {
      const { updated_at, ...fields } = doc;
      await settle(
        posts.addDocuments(
          [
            {
              ...fields,
              content: withoutHighlightMarkers(fields.content),
              updated_at: updated_at.getTime(),
            },
          ],
          primaryKey,
        ),
        'index post',
      );
    },
    async deletePost(id) {
      await settle(posts.deleteDocument(id), 'delete post');
    },
    async indexUser(doc: UserDocument) {
      await settle(users.addDocuments([doc], primaryKey), 'index user');
    },
    async deleteUser(id) {
      await settle(users.deleteDocument(id), 'delete user');
    },

    async searchPosts({ q, page, pageSize }): Promise<SearchResult<PostHit>> {
      const res = await posts.search(q, {
        page,
        hitsPerPage: pageSize,
        attributesToRetrieve: ['id', 'author_id', 'title'],
        // Cropped content comes back in _formatted without the full body being sent.
        attributesToCrop: ['content'],
        cropLength: SNIPPET_WORDS,
        cropMarker: '…',
        attributesToHighlight: ['content'],
        highlightPreTag: HIGHLIGHT_START,
        highlightPostTag: HIGHLIGHT_STOP,
      });
      return {
        hits: res.hits.map((hit) => ({
          id: hit.id,
          author_id: hit.author_id,
          title: hit.title,
          snippet: snippetHtml(hit._formatted?.content ?? ''),
        })),
        total_hits: res.totalHits,
      };
    },

    async searchUsers({ q, page, pageSize }): Promise<SearchResult<UserHit>> {
      const query = q.trim();
      const res = await users.search(query, {
        page,
        hitsPerPage: pageSize,
        attributesToRetrieve: ['id', 'handle', 'display_name', 'bio', 'profile_image_url'],
        ...(query === '' ? { sort: ['handle:asc'] } : {}),
      });
      return {
        hits: res.hits.map((hit) => ({
          id: hit.id,
          handle: hit.handle,
          display_name: hit.display_name,
          bio: hit.bio ?? null,
          profile_image_url: hit.profile_image_url ?? null,
        })),
        total_hits: res.totalHits,
      };
    },

    async applySettings() {
      for (const [uid, settings] of Object.entries(indexSettings)) {
        const created = await client.createIndex(uid, primaryKey).waitTask();
        if (created.status !== 'succeeded' && created.error?.code !== 'index_already_exists') {
          throw new Error(
            `Meilisearch create index ${uid} ${created.status}: ${created.error?.message ?? ''}`,
          );
        }
        await settle(client.index(uid).updateSettings(settings), `settings of ${uid}`);
      }
    },

    // The client is stateless HTTP (fetch): nothing to release.
    async close() {},
  };
}
