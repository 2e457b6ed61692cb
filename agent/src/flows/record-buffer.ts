/**
 * A bounded buffer of a proxy's records for the flow history, drained once per flow window.
 *
 * Contract:
 * - keep(): appends while fewer than `max` records are held; beyond, the record is dropped and counted
 *   (`dropped`, cumulative) — the proxy's request path never waits on the flow history.
 * - drain(): the records kept since the last drain, oldest first; when records were dropped since the last
 *   drain, reports how many through `onDropped` (once per drain, never per record).
 */
export class RecordBuffer<T> {
  private records: T[] = [];
  /** records the flow history lost because the buffer was full (cumulative) */
  dropped = 0;
  private droppedReported = 0;

  constructor(
    private readonly max: number,
    private readonly onDropped: (count: number) => void = () => undefined,
  ) {}

  get size(): number {
    return this.records.length;
  }

  keep(record: T): void {
    if (this.records.length >= this.max) {
      this.dropped += 1;
      return;
    }
    this.records.push(record);
  }

  drain(): T[] {
    const out = this.records;
    this.records = [];
    if (this.dropped > this.droppedReported) {
      this.onDropped(this.dropped - this.droppedReported);
      this.droppedReported = this.dropped;
    }
    return out;
  }
}
