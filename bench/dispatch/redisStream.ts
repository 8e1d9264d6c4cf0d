/**
 * The Redis Streams dispatcher against the inline one (see ./measure.ts), on the Redis
 * of REDIS_URL (default 127.0.0.1:6379), on a stream of its own that is deleted
 * afterwards. The worker runs 32 jobs at once.
 */
import { StreamDispatcher, StreamWorker } from "@cachefx/redis"
import { Effect } from "effect"
import { measureBroker } from "./measure.js"
import { redis, removeKeys } from "./redis.js"

const stream = `{cachefx-bench-stream-${process.pid}}`

export const bench = Effect.gen(function*() {
  const client = yield* redis()
  yield* Effect.addFinalizer(() => removeKeys(client, stream))
  yield* measureBroker(
    "redis-stream",
    StreamDispatcher.layer({ client, queue: stream }),
    StreamWorker.layer({ client, queue: stream, concurrency: 32 })
  )
})
