import type { ChainableCommander } from 'ioredis';

/** Runs a MULTI and throws the first failed command, which ioredis reports per command. */
export async function execAll(multi: ChainableCommander): Promise<unknown[]> {
  const results = (await multi.exec()) ?? [];
  const failed = results.find(([error]) => error !== null)?.[0];
  if (failed) throw failed;
  return results.map(([, value]) => value);
}
