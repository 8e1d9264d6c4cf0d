import type * as Clock from "effect/Clock"
import * as MetricLabel from "effect/MetricLabel"
import { CacheDefinitionError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"

/**
 * A breaker's threshold, checked: a whole number of timeouts in a row, at least 0.
 *
 * @internal
 */
export const threshold = (subject: string, value: number): number => {
  if (!(Number.isInteger(value) && value >= 0)) {
    throw new CacheDefinitionError({
      subject,
      reason: `must be a whole number of timeouts in a row (0 turns the breaker off), got ${value}`
    })
  }
  return value
}

/**
 * The breaker: `timeouts` in a row while closed; while open, the first operation after
 * `probeInterval` is let through as the probe. An answer closes it (from the probe, or
 * from any operation answered within its timeout); a timeout or a failure of the probe
 * opens it again for another interval.
 *
 * @internal
 */
export class Breaker implements CircuitBreaker.CircuitBreaker {
  state: CircuitBreaker.State = "Closed"
  private timeouts = 0
  private openedAt = 0
  private readonly labels: ReadonlyArray<MetricLabel.MetricLabel>

  constructor(
    private readonly threshold: number,
    private readonly probeInterval: number,
    private readonly onOpen: (() => void) | undefined,
    store: string,
    private readonly clock: Clock.Clock
  ) {
    this.labels = [MetricLabel.make("store", store)]
  }

  unsafeAllow(): boolean {
    if (this.state === "Closed") {
      return true
    }
    if (this.state === "Open" && this.clock.unsafeCurrentTimeMillis() - this.openedAt >= this.probeInterval) {
      this.state = "Probing"
      return true
    }
    CacheMetrics.storeSkipped.unsafeUpdate(1, this.labels)
    return false
  }

  unsafeAnswered(): void {
    this.state = "Closed"
    this.timeouts = 0
  }

  unsafeFailed(): void {
    if (this.state === "Probing") {
      this.open()
    }
  }

  unsafeTimedOut(): void {
    if (this.state === "Probing" || (this.state === "Closed" && this.threshold > 0 && ++this.timeouts >= this.threshold)) {
      this.open()
      // what timed out may still be held by the store: `onOpen` lets go of it
      this.onOpen?.()
    }
  }

  private open(): void {
    this.state = "Open"
    this.timeouts = 0
    this.openedAt = this.clock.unsafeCurrentTimeMillis()
  }
}
