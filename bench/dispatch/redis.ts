/** The Redis of the Redis-based broker benchmarks (REDIS_URL, default 127.0.0.1:6379). */
import { Effect } from "effect"
import { Redis, type RedisOptions } from "ioredis"

/** A connection, closed with the scope. */
export const redis = (options: RedisOptions = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379", options)),
    (client) => Effect.promise(() => client.quit())
  )

/** Deletes the keys that start with `prefix` (a benchmark's own). */
export const removeKeys = (client: Redis, prefix: string) =>
  Effect.promise(async () => {
    for await (const keys of client.scanStream({ match: `${prefix.replace(/[*?[\]\\{}]/g, "\\$&")}*`, count: 1000 })) {
      if ((keys as Array<string>).length > 0) {
        await client.unlink(...(keys as Array<string>))
      }
    }
  })
