import { route } from '../../http/typed-handler.ts';
import type { ActionLogsService } from './action-logs.service.ts';

export function actionLogsRoutes(actionLogs: ActionLogsService) {
  return [
    route('listActionLogs', async ({ query }) => ({
      status: 200,
      body: await actionLogs.list(query),
    })),
  ];
}
