import { describe, expect, it } from 'vitest';
import { readShapes } from '../../scripts/gen/client.ts';
import { ContractError } from '../../scripts/gen/types.ts';
import type { Contract, OperationInfo } from '../../scripts/gen/types.ts';

/**
 * The client generator finds upload and event-stream operations by their shape, not by name,
 * so an operation added later gets its helper from `npm run gen` alone.
 */
function operation(operationId: string, method: 'get' | 'post', path: string): OperationInfo {
  return {
    operationId,
    method,
    path,
    summary: '',
    tags: [],
    probe: false,
    requestBodyTypes: [],
    eventStream: false,
    sessionRequired: false,
    rateLimit: null,
    rateLimited: false,
    turnstile: false,
    pending: false,
    errorCodes: [],
  };
}

const contractOf = (...operations: OperationInfo[]): Contract => ({
  operations,
  errorCodes: [],
  errorStatuses: new Map(),
  errorDescriptions: new Map(),
});

const gallery = operation('addPhotos', 'post', '/v0/galleries/{id}/photos');
const feed = operation('streamComments', 'get', '/v0/eventstream/comments');

function documentWith(events: Record<string, unknown>) {
  return {
    paths: {
      '/v0/galleries/{id}/photos': {
        post: {
          requestBody: {
            content: {
              'multipart/form-data': { schema: { $ref: '#/components/schemas/PhotoUpload' } },
            },
          },
          responses: { '201': { description: 'ok' } },
        },
      },
      '/v0/eventstream/comments': {
        get: {
          responses: {
            '200': {
              content: { 'text/event-stream': { 'x-events': events, schema: { type: 'string' } } },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        Comment: { type: 'object' },
        PhotoUpload: {
          type: 'object',
          properties: {
            caption: { type: 'string' },
            cover: { type: 'string', contentMediaType: 'image/png' },
            photos: { type: 'array', items: { type: 'string', format: 'binary' } },
          },
        },
      },
    },
  };
}

describe('client generator shapes', () => {
  it('When operations have a multipart body or answer an event stream, then they get helpers whatever their names, with their file fields and event types', () => {
    const shapes = readShapes(
      documentWith({ comment: { $ref: '#/components/schemas/Comment' } }),
      contractOf(gallery, feed),
    );

    expect(shapes.multipart).toEqual([{ operation: gallery, files: ['cover', 'photos'] }]);
    expect(shapes.eventStreams).toEqual([
      { operation: feed, events: new Map([['comment', 'Comment']]) },
    ]);
  });

  it('When an event stream declares no x-events or an inline event schema, then generation fails naming the operation', () => {
    for (const events of [{}, { comment: { type: 'object' } }]) {
      const attempt = () => readShapes(documentWith(events), contractOf(gallery, feed));
      expect(attempt).toThrow(ContractError);
      expect(attempt).toThrow(/streamComments/);
    }
  });
});
