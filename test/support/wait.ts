/** What `eventually` throws when its deadline passes; any other error is the condition's own. */
export class ConditionTimeout extends Error {
  constructor() {
    super('condition not met in time');
    this.name = 'ConditionTimeout';
  }
}

export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new ConditionTimeout();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Whether `condition` held before `timeoutMs`, for a caller that reports what is still wrong
 * rather than failing on the deadline. A condition that throws still fails the caller: an error
 * reading the state must not pass for the state being as expected.
 */
export async function settles(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  try {
    await eventually(condition, timeoutMs);
    return true;
  } catch (error) {
    if (error instanceof ConditionTimeout) return false;
    throw error;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
