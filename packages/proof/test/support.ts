/**
 * What the proof suites share: the run count (`PROOF_RUNS`, default 1,000), the shared
 * Redis, a clock whose time a test moves forward, and the cleanup of a key prefix.
 */
import { Clock, Duration, Effect } from "effect"
import { Redis } from "ioredis"

/** Runs per property: `PROOF_RUNS`, default 1,000. */
export const runs = (() => {
  const raw = process.env["PROOF_RUNS"]
  const parsed = raw === undefined ? 1000 : Number(raw)
  if (!(Number.isInteger(parsed) && parsed > 0)) {
    throw new Error(`PROOF_RUNS must be a positive whole number, not ${raw}`)
  }
  return parsed
})()

export const sharedUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"

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

/** Deletes every key of the shared Redis that contains `marker` (tests only: stores never scan). */
export const cleanup = async (marker: string): Promise<void> => {
  const client = new Redis(sharedUrl)
  try {
    for await (const keys of client.scanStream({ match: `*${marker}*`, count: 1000 })) {
      if ((keys as Array<string>).length > 0) {
        await client.unlink(...(keys as Array<string>))
      }
    }
  } finally {
    await client.quit()
  }
}
