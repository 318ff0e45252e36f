// A concurrency limit: at most `max` tasks run at once, the rest wait in order.

export class Limiter {
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Runs `fn` on every item, `n` at a time; after a failure no new item starts, and the first failure (in item order) is thrown once all running ones settled. */
export async function forEachLimited<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const limiter = new Limiter(n);
  let failed = false;
  const results = await Promise.allSettled(
    items.map((item) =>
      limiter.run(async () => {
        if (failed) return;
        try {
          await fn(item);
        } catch (e) {
          failed = true;
          throw e;
        }
      }),
    ),
  );
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
