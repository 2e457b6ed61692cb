/**
 * The change feed of `resources`, in-process: what runs the compiler where no Functions Cosmos DB trigger
 * does (npm start, tests, the embedded store, whose change feed is unreliable). The store's collections
 * report every document they write (DocumentCollection's WriteObserver) and the driver hands them, in
 * batches, to the same handler the trigger calls.
 *
 * Contract: at-least-once and in order, like the feed with its leases. A batch whose handler throws is
 * retried (backoff 50 ms doubling to 5 s) before anything after it; `settled()` resolves once every
 * document reported before the call has been handled.
 */
export class LocalChangeDriver {
  private queue: Record<string, unknown>[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly handle: (documents: Record<string, unknown>[]) => Promise<void>,
    private readonly onError: (error: unknown, attempt: number) => void = () => undefined,
  ) {}

  /** The WriteObserver to give the watched collections. */
  readonly notify = (document: Record<string, unknown>): void => {
    if (this.closed) return;
    this.queue.push(document);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  };

  /** Resolves when everything reported so far has been handled. */
  async settled(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stops taking documents and waits for the batch in hand; what is queued is dropped (the reconcile sweep covers it). */
  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    await this.draining;
  }

  private async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // let the writing request finish first
    for (let attempt = 1; this.queue.length > 0 && !this.closed; ) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.handle(batch);
        attempt = 1;
      } catch (error) {
        this.onError(error, attempt);
        this.queue = [...batch, ...this.queue];
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 50 * 2 ** (attempt - 1))));
        attempt += 1;
      }
    }
  }
}
