/**
 * The BullMQ dispatcher against the inline one (see ./measure.ts), on the Redis of
 * REDIS_URL (default 127.0.0.1:6379), under a key prefix of its own that is deleted
 * afterwards. The worker runs 32 jobs at once.
 */
import { BullMQDispatcher, BullMQWorker } from "@cachefx/bullmq"
import { Effect } from "effect"
import { measureBroker } from "./measure.js"
import { redis, removeKeys } from "./redis.js"

const prefix = `cachefx-bench-bullmq-${process.pid}`

export const bench = Effect.gen(function*() {
  const connection = yield* redis({ maxRetriesPerRequest: null })
  yield* Effect.addFinalizer(() => removeKeys(connection, prefix))
  yield* measureBroker(
    "bullmq",
    BullMQDispatcher.layer({ connection, prefix }),
    BullMQWorker.layer({ connection, prefix, concurrency: 32 })
  )
})
