import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Answered {
  /** The envelope recipient, lowercased. */
  to: string;
  /** performance.now() when the server accepted the message. */
  at: number;
}

export interface SlowSmtp {
  port: number;
  /** Every message accepted so far, in order. */
  answered: Answered[];
  close(): Promise<void>;
}

/**
 * A real SMTP server (no TLS, no auth) that accepts each message only `delayMs` after its
 * data ends, like a distant relay. Jobs that send mail through it spend their time waiting on
 * the protocol peer, not on the CPU, so a worker's in-flight limit bounds its throughput.
 */
export async function startSlowSmtp(delayMs: number): Promise<SlowSmtp> {
  const answered: Answered[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      stream.resume();
      stream.once('end', () => {
        setTimeout(() => {
          const at = performance.now();
          for (const rcpt of session.envelope.rcptTo) {
            answered.push({ to: rcpt.address.toLowerCase(), at });
          }
          callback();
        }, delayMs);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    answered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
