/** Whether every one of the promises settled within `ms`; the timer never outlives the wait. */
export async function settledWithin(
  promises: Iterable<Promise<unknown>>,
  ms: number,
): Promise<boolean> {
  const all = [...promises];
  if (all.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = Promise.allSettled(all).then(() => true);
  const result = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  return result;
}
