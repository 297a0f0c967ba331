import type { EventStreams } from '../../http/event-stream.ts';
import { responded, route } from '../../http/typed-handler.ts';
import type { EventStreamService } from './eventstream.service.ts';

export function eventStreamRoutes(events: EventStreamService, streams: EventStreams) {
  return [
    route('streamActions', async ({ query, req, res }) => {
      await streams.serve(req, res, (connection) =>
        events.subscribe(query, req.get('last-event-id'), {
          send: (log) => connection.send('action_log', log.id, log),
          drop: (reason) => connection.drop(reason),
          end: () => connection.end(),
        }),
      );
      return responded;
    }),
  ];
}
