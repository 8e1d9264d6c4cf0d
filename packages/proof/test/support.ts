/**
 * What the proof suites share: the run count (`PROOF_RUNS`, default 1,000), the shared
 * Redis, a clock whose time a test moves forward, and the cleanup of a key prefix.
 */
import { Clock, Duration, Effect } from "effect"

/** A whole number from the environment variable `name`, at least `minimum`, or `fallback` when unset. */
export const wholeNumber = (name: string, fallback: number, minimum: number): number => {
  const raw = process.env[name]
  const parsed = raw === undefined ? fallback : Number(raw)
  if (!(Number.isInteger(parsed) && parsed >= minimum)) {
    throw new Error(`${name} must be a whole number of at least ${minimum}, not ${raw}`)
  }
  return parsed
}

/** Runs per property: `PROOF_RUNS`, default 1,000. */
export const runs = wholeNumber("PROOF_RUNS", 1000, 1)

/** The shared Redis and its test-only cleanup. */
export { cleanup, sharedUrl } from "@cachefx/testkit"

/** Prints what a property checked, so a reader of the test output sees the counts. */
export const report = (name: string, counts: Record<string, number>) => {
  const parts = Object.entries(counts).map(([key, value]) => `${key}=${value}`).join(" ")
  process.stdout.write(`[proof] ${name}: ${parts}\n`)
}

/** A clock of real time plus an offset the test advances (TTL expiry without waiting). */
export const shiftedClock = () => {
  const live = Clock.make()
  let offset = 0
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => live.unsafeCurrentTimeMillis() + offset,
    currentTimeMillis: Effect.sync(() => live.unsafeCurrentTimeMillis() + offset),
    unsafeCurrentTimeNanos: () => live.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => live.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n),
    sleep: (duration: Duration.Duration) => live.sleep(duration)
  }
  return {
    clock,
    advance: (duration: Duration.DurationInput) => {
      offset += Duration.toMillis(duration)
    }
  }
}

/** The fault tools of the model suite: the throwaway `redis-server` launcher and the TCP proxy. */
export { type FaultProxy, freePort, type Server, startProxy, startServer, unavailable } from "@cachefx/testkit"
