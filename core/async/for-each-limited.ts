/**
 * Runs `work` on every item, at most `limit` (at least 1) at a time, starting items in order. The first
 * failure stops further items from starting; once the items already running have ended, that failure is
 * thrown (later ones are dropped). Resolves when every item's work has finished.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, Math.floor(limit)), items.length) }, worker));
  if (failed) throw failure;
}
