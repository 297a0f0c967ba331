import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  /** Envelope recipients (RCPT TO), lowercased: whom the server was asked to deliver to. */
  envelopeTo: string[];
  /** Envelope sender (MAIL FROM). */
  envelopeFrom: string;
  subject: string;
  text: string;
  /** The HTML part; empty when the message has none. */
  html: string;
  /** Everything mailparser read: headers, address objects, attachments. */
  parsed: ParsedMail;
}

export interface MailCatcher {
  host: string;
  port: number;
  /** Every message received so far, oldest first. */
  messages: CaughtMail[];
  /** The messages received so far for one recipient, oldest first. */
  mailsTo(to: string): CaughtMail[];
  /**
   * The first message (already received or still to come) for `to` that satisfies
   * `predicate`; rejects after `timeoutMs`. Messages are never consumed, so narrow with the
   * predicate when one address receives several.
   */
  waitForMail(
    to: string,
    predicate?: (mail: CaughtMail) => boolean,
    timeoutMs?: number,
  ): Promise<CaughtMail>;
  close(): Promise<void>;
}

interface Waiter {
  matches(mail: CaughtMail): boolean;
  resolve(mail: CaughtMail): void;
}

/**
 * A real SMTP server in the test process (no TLS, no auth) that parses every message it
 * receives. It listens on a free port unless one is given (to bring a "down" server up).
 */
export async function startMailCatcher(options: { port?: number } = {}): Promise<MailCatcher> {
  const messages: CaughtMail[] = [];
  let waiters: Waiter[] = [];

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const mail: CaughtMail = {
            envelopeTo: session.envelope.rcptTo.map((a) => a.address.toLowerCase()),
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            parsed,
          };
          messages.push(mail);
          const ready = waiters.filter((w) => w.matches(mail));
          waiters = waiters.filter((w) => !ready.includes(w));
          for (const waiter of ready) waiter.resolve(mail);
          callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  const addressedTo = (to: string) => {
    const address = to.toLowerCase();
    return (mail: CaughtMail) => mail.envelopeTo.includes(address);
  };

  return {
    host: '127.0.0.1',
    port,
    messages,
    mailsTo: (to) => messages.filter(addressedTo(to)),
    waitForMail(to, predicate = () => true, timeoutMs = 10_000) {
      const isFor = addressedTo(to);
      const matches = (mail: CaughtMail) => isFor(mail) && predicate(mail);
      const caught = messages.find(matches);
      if (caught) return Promise.resolve(caught);
      return new Promise<CaughtMail>((resolve, reject) => {
        const waiter: Waiter = {
          matches,
          resolve(mail) {
            clearTimeout(timer);
            resolve(mail);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`no mail to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
