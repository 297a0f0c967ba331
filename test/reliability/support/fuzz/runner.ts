import type { FuzzCase } from './cases.ts';
import type { FuzzContract } from './contract.ts';
import { toRequest } from './draft.ts';
import {
  changedParts,
  fingerprint,
  windowsOfAddresses,
  type Fingerprint,
  type FingerprintScope,
} from './fingerprint.ts';
import type { FuzzWorld } from './fixtures.ts';
import type { SchemaCheck } from '../../../support/contract-schema-check.ts';
import { createSender, type FuzzAnswer } from './send.ts';
import { judge, reachedItsHandler } from './verdict.ts';

const FORGED_COOKIE = 'session_id=s%3Aforgedsessionid.bm90IGEgc2lnbmF0dXJl';
const CONCURRENCY = 8;

export interface Failure {
  operationId: string;
  kind: string;
  /** The seed and index that generate the case again. */
  origin: string;
  request: string;
  status: number | 'no answer' | 'several';
  problems: string[];
  answer: string;
}

interface OperationCounts {
  valid: number;
  invalid: number;
  /** Valid requests whose answer came from the handler, not a refusal in front of it. */
  reached: number;
  statuses: Map<number, number>;
  slowestMs: number;
}

/** What a run sent and found, counted. */
export interface FuzzTally {
  sent: number;
  /** Requests per operation, its answers by status, and its slowest answer. */
  byOperation: Map<string, OperationCounts>;
  unexpected5xx: number;
  /** Refused requests (or batches of them) after which a stored row had changed. */
  changedByRefused: number;
  failures: Failure[];
}

export function createRunner(
  contract: FuzzContract,
  check: SchemaCheck,
  world: FuzzWorld,
  baseUrl: string,
) {
  const sender = createSender(baseUrl);
  const tally: FuzzTally = {
    sent: 0,
    byOperation: new Map(),
    unexpected5xx: 0,
    changedByRefused: 0,
    failures: [],
  };

  const fail = (
    fuzz: FuzzCase,
    request: string,
    status: Failure['status'],
    problems: string[],
    answer?: FuzzAnswer,
  ) =>
    tally.failures.push({
      operationId: fuzz.operation.operationId,
      kind: fuzz.kind,
      origin: fuzz.origin,
      request,
      status,
      problems,
      answer: answer?.body.toString('utf8').slice(0, 300) ?? '',
    });

  async function sendOne(fuzz: FuzzCase, addresses?: string[]): Promise<FuzzAnswer | undefined> {
    const request = toRequest(fuzz.operation, fuzz.draft);
    const address = world.nextAddress();
    addresses?.push(address);
    request.headers['x-forwarded-for'] = address;
    if (fuzz.draft.caller === 'user') request.headers.cookie = await world.session();
    if (fuzz.draft.caller === 'forged') request.headers.cookie = FORGED_COOKIE;
    const counts = tally.byOperation.get(fuzz.operation.operationId) ?? {
      valid: 0,
      invalid: 0,
      reached: 0,
      statuses: new Map<number, number>(),
      slowestMs: 0,
    };
    tally.byOperation.set(fuzz.operation.operationId, counts);
    if (fuzz.kind === 'valid') counts.valid += 1;
    else counts.invalid += 1;
    tally.sent += 1;
    const described = `${request.method} ${request.target.slice(0, 200)} (${fuzz.draft.caller}, ${request.headers['content-type'] ?? 'no content type'}, ${request.body?.length ?? 0} bytes)`;
    let answer: FuzzAnswer;
    const sentAt = performance.now();
    try {
      answer = await sender.send(request);
      counts.slowestMs = Math.max(counts.slowestMs, performance.now() - sentAt);
      counts.statuses.set(answer.status, (counts.statuses.get(answer.status) ?? 0) + 1);
    } catch (error) {
      fail(fuzz, described, 'no answer', [String(error)]);
      return undefined;
    }
    if (answer.status >= 500) tally.unexpected5xx += 1;
    if (fuzz.expect === 'valid' && reachedItsHandler(answer)) counts.reached += 1;
    const problems = judge(contract, check, fuzz, answer);
    if (problems.length > 0) fail(fuzz, described, answer.status, problems, answer);
    return answer;
  }

  async function pooled(
    cases: FuzzCase[],
    addresses?: string[],
  ): Promise<(FuzzAnswer | undefined)[]> {
    const answers: (FuzzAnswer | undefined)[] = cases.map(() => undefined);
    let next = 0;
    const lane = async () => {
      while (next < cases.length) {
        const index = next++;
        answers[index] = await sendOne(cases[index]!, addresses);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    return answers;
  }

  const print = (scope: FingerprintScope) =>
    fingerprint(world.db, world.redis, [world.user.id, world.other.id], scope);

  return {
    tally,
    /** Sends a batch the contract refuses, concurrently, and checks it stored nothing. */
    async refusedBatch(cases: FuzzCase[]) {
      if (cases.length === 0) return;
      await world.session();
      const before = await print({ redisState: true });
      const addresses: string[] = [];
      const answers = await pooled(cases, addresses);
      // An accepted one has failed already, and may change what is stored.
      const problems: string[] = [];
      if (answers.every((a) => a && a.status >= 400)) {
        const changed = changedParts(before, await print({ redisState: true }));
        if (changed.length > 0) problems.push(`stored state changed: ${changed.join(', ')}`);
        const windows = await windowsOfAddresses(world.redis, addresses);
        if (windows.length > 0) problems.push(`rate-limit windows opened: ${windows.join(', ')}`);
      }
      if (problems.length > 0) {
        tally.changedByRefused += 1;
        fail(
          { ...cases[0]!, kind: 'refused batch', origin: `${cases[0]!.origin} and on` },
          `${cases.length} refused requests`,
          'several',
          problems,
        );
      }
      world.sessionMayHaveEnded();
    },
    /** Sends requests that may be accepted, concurrently. */
    async openBatch(cases: FuzzCase[]) {
      await pooled(cases);
      world.sessionMayHaveEnded();
    },
    /** Sends mutations one at a time; each one refused must have stored nothing. */
    async serialMutations(cases: FuzzCase[]) {
      // A refusal leaves the fingerprint as it was, so the one taken after it is the next
      // one's before, until an accepted request or a new login changes what is stored.
      let known: Fingerprint | undefined;
      for (const fuzz of cases) {
        const logins = world.logins;
        await world.session();
        if (world.logins !== logins) known = undefined;
        const before = known ?? (await print({ redisState: false }));
        const answer = await sendOne(fuzz);
        known = undefined;
        if (!answer) continue;
        if (answer.status < 300) {
          world.sessionMayHaveEnded();
          continue;
        }
        const after = await print({ redisState: false });
        const changed = changedParts(before, after);
        if (changed.length === 0) known = after;
        else {
          tally.changedByRefused += 1;
          fail(
            fuzz,
            'refused valid-shaped request',
            answer.status,
            [`stored rows changed: ${changed.join(', ')}`],
            answer,
          );
        }
      }
    },
    close: () => sender.close(),
  };
}
