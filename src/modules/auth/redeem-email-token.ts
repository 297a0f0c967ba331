import type { UserRow } from '../../shared/db/rows.ts';
import type { Executor } from '../../shared/db/transaction.ts';
import { findById } from '../users/users.repository.ts';
import type { EmailTokenKind, EmailTokenRecord, EmailTokens } from './email-tokens.ts';

/**
 * Redeems an email token (once) and loads its user from the primary. The address the link
 * was mailed for, kept in the token's data under `mailedTo`, must still be the account's:
 * a link sent before an email change dies with it. Undefined when the token or its user is
 * no good; each flow answers that with its own error.
 */
export async function redeemEmailToken(
  tokens: EmailTokens,
  db: Executor,
  input: { kind: EmailTokenKind; token: string; mailedTo: string },
): Promise<{ user: UserRow; data: EmailTokenRecord['data'] } | undefined> {
  const redeemed = await tokens.consume(input.kind, input.token);
  if (!redeemed) return undefined;
  const user = await findById(db, redeemed.userId);
  if (!user || user.email !== redeemed.data[input.mailedTo]) return undefined;
  return { user, data: redeemed.data };
}
