import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/db/ids.ts';
import { recordLog } from '../action-logs/support/action-log-factory.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { eventually } from '../support/wait.ts';
import { subscribe } from './support/subscriber.ts';

const BUFFER_BYTES = 256 * 1024;
/** Large entries, so the socket buffers of a client that never reads fill in a few dozen. */
const PADDING = 'x'.repeat(32 * 1024);
/** Far more than the kernel's socket buffers and the client's bound hold together. */
const ENTRIES = 256;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ eventStream: { maxBufferedBytes: BUFFER_BYTES } });
});
afterAll(async () => {
  await app.close();
});

/** A client that opens the stream and then never reads from it. */
function stalledClient(url: string): Promise<{ res: IncomingMessage; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      res.pause();
      resolve({ res, closed: new Promise((closed) => res.once('close', () => closed())) });
    })
      .on('error', reject)
      .end();
  });
}

describe('a stream client that cannot keep up', () => {
  it('When one client stops reading while entries keep coming, then it is disconnected and a client that reads keeps receiving every entry', async () => {
    const resource = { resource_id: newId() };
    const start = await recordLog(app.deps, resource);
    const stalled = await stalledClient(
      `${app.baseUrl}/v0/eventstream/actions?resource_id=${resource.resource_id}`,
    );
    const fast = subscribe(app, resource, start.id);

    const written = [];
    for (let i = 0; i < ENTRIES; i += 1) {
      written.push(await recordLog(app.deps, { ...resource, metadata: { padding: PADDING } }));
    }
    const marker = await recordLog(app.deps, resource);
    await eventually(() => fast.received.at(-1)?.id === marker.id, 20_000);
    await fast.close();

    // Reading again, the stalled client gets what was already on its way, then the end.
    let text = '';
    stalled.res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    stalled.res.resume();
    await stalled.closed;

    expect(fast.received.map((log) => log.id)).toEqual([...written, marker].map((log) => log.id));
    expect(text).not.toContain(marker.id);
    expect(text.length).toBeLessThan(ENTRIES * PADDING.length);
  });
});
