/**
 * A call waiting for Redis, that the timer ends when it is still pending at its
 * deadline.
 *
 * @internal
 */
export interface Pending {
  readonly deadline: number
  /** Whether the call has settled (answered or failed) already. */
  readonly settled: boolean
  /** Fails the call: its time is up. */
  expire(): void
}

/**
 * The deadlines of one store's calls, on one timer. Every call gets the same timeout,
 * so deadlines come in the order calls start: they wait in a queue, and the timer is
 * armed for the oldest one. A call costs a push instead of a `setTimeout` and a
 * `clearTimeout`, and ends at the same bound (its timeout, to the timer's
 * millisecond). Settled calls leave the queue when they reach its head; when no call
 * is pending, the queue is emptied and the timer cleared.
 *
 * @internal
 */
export class Deadlines {
  private queue: Array<Pending> = []
  private head = 0
  private pending = 0
  private timer: ReturnType<typeof setTimeout> | undefined = undefined

  constructor(readonly timeout: number) {}

  /** The deadline of a call starting now. */
  deadline(): number {
    return performance.now() + this.timeout
  }

  /** Watches a call until it settles (`settle`) or its deadline passes. */
  watch(call: Pending): void {
    this.queue.push(call)
    this.pending++
    if (this.timer === undefined) {
      this.arm(this.timeout)
    }
  }

  /** Records that a watched call has settled. */
  settle(): void {
    if (--this.pending === 0) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.queue = []
      this.head = 0
    }
  }

  private arm(delay: number): void {
    // a call started by an expired one's fiber, during a sweep, may have armed it already
    clearTimeout(this.timer)
    this.timer = setTimeout(this.sweep, Math.max(1, Math.ceil(delay)))
  }

  private readonly sweep = (): void => {
    this.timer = undefined
    const now = performance.now()
    while (this.head < this.queue.length) {
      const call = this.queue[this.head]!
      if (!call.settled && call.deadline > now) {
        break
      }
      this.head++
      if (!call.settled) {
        call.expire()
      }
    }
    if (this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    if (this.head < this.queue.length) {
      this.arm(this.queue[this.head]!.deadline - now)
    }
  }
}
