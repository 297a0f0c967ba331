import type { Logger } from './logger.ts';

export type Close = () => Promise<void> | void;

/**
 * Collects the close() of each connection as it is opened, and closes them in reverse
 * order, so a failure half-way through start-up releases what was already opened.
 * One failing close is logged and does not keep the others open.
 */
export function createClosers(logger: Logger) {
  const closers: Close[] = [];
  return {
    add: (close: Close): void => {
      closers.push(close);
    },
    closeAll: async (): Promise<void> => {
      for (const close of closers.splice(0).reverse()) {
        try {
          await close();
        } catch (error) {
          logger.warn('closing a connection failed', { err: error });
        }
      }
    },
  };
}
