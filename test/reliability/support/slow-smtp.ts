import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * How long to hold back the answer to one message: milliseconds, until the test releases it,
 * or until its client leaves.
 */
export type Hold = number | 'until-released' | 'until-closed';

export interface RecipientLog {
  /** Messages whose data arrived, answered or not. */
  attempts: number;
  /** Messages answered 250 while their client was still connected: sent, as far as it knows. */
  delivered: number;
  /** Messages whose client left before the answer: not sent, as far as it knows. */
  abandoned: number;
}

export interface Answered {
  /** The envelope recipient, lowercased. */
  to: string;
  /** performance.now() when the server accepted the message. */
  at: number;
}

export interface SlowSmtp {
  host: string;
  port: number;
  /** Every message answered 250 so far, in order. */
  answered: Answered[];
  /** What happened to the messages for one envelope recipient (lowercased). */
  log(to: string): RecipientLog;
  /** Answers the messages for `to` held until released. */
  release(to: string): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server that takes each message's data and then holds back its answer for as
 * long as `hold` says (by recipient and attempt, 1 for the first): like a distant relay, so
 * jobs that send mail wait on the protocol peer rather than the CPU, or so a test can have a
 * worker's send in flight when it signals the worker.
 */
export async function startSlowSmtp(
  hold: (to: string, attempt: number) => Hold,
): Promise<SlowSmtp> {
  const logs = new Map<string, RecipientLog>();
  const answers: Answered[] = [];
  const logOf = (to: string) => {
    let log = logs.get(to);
    if (!log) logs.set(to, (log = { attempts: 0, delivered: 0, abandoned: 0 }));
    return log;
  };
  const closed = new Set<string>();
  const whenClosed = new Map<string, () => void>();
  const held = new Map<string, (() => void)[]>();

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onClose(session) {
      closed.add(session.id);
      whenClosed.get(session.id)?.();
    },
    onData(stream, session, callback) {
      const recipients = session.envelope.rcptTo.map((a) => a.address.toLowerCase());
      stream.resume();
      stream.once('end', () => {
        const to = recipients[0] ?? '';
        const log = logOf(to);
        log.attempts += 1;
        const wait = hold(to, log.attempts);
        let answered = false;
        const answer = () => {
          if (answered) return;
          answered = true;
          whenClosed.delete(session.id);
          if (closed.has(session.id)) {
            log.abandoned += 1;
            return;
          }
          log.delivered += 1;
          answers.push({ to, at: performance.now() });
          callback();
        };
        whenClosed.set(session.id, answer);
        if (wait === 'until-released') held.set(to, [...(held.get(to) ?? []), answer]);
        else if (wait !== 'until-closed') setTimeout(answer, wait);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    answered: answers,
    log: (to) => ({ ...logOf(to.toLowerCase()) }),
    release(to) {
      const answers = held.get(to.toLowerCase()) ?? [];
      held.delete(to.toLowerCase());
      for (const answer of answers) answer();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
