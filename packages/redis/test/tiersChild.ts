/**
 * Instance B of the two-tier tests, in a process of its own: `tiersChild.ts <key prefix>
 * <channel> <subscriber connection name>`. It answers each IPC request `{ id, input }`
 * with a read of the shared cached value through its two-tier store, and how many reads
 * of Redis (L2) it has made so far.
 */
import { CacheSettings, CacheStore } from "@cachefx/core"
import { RedisStore, RedisSync } from "@cachefx/redis"
import { Effect, Layer, Runtime } from "effect"
import { Redis } from "ioredis"
import { sharedUrl } from "./redis.js"
import { readTruth, type Request } from "./tiersFixture.js"

const [prefix, channel, connectionName] = process.argv.slice(2) as [string, string, string]
// reconnects a second after a drop, so that the tests read while it reconnects
const client = new Redis(sharedUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 1_000 })
let l2Reads = 0

const Store = Layer.scoped(
  CacheStore.CacheStore,
  Effect.gen(function*() {
    const l2 = yield* RedisStore.make({ client })
    return yield* CacheStore.makeTiered({
      l1: CacheStore.makeMemory({ capacity: 1_000 }),
      l2: { ...l2, get: (key) => Effect.suspend(() => (l2Reads++, l2.get(key))) },
      sync: yield* RedisSync.make({ client, channel, connectionName })
    })
  })
).pipe(Layer.provideMerge(CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "1 second" })))

const value = readTruth(client, prefix)

Effect.gen(function*() {
  const runtime = yield* Effect.runtime<CacheStore.CacheStore>()
  const run = Runtime.runPromise(runtime)
  process.on("message", (request: Request) => {
    run(value.withStatus(request.input)).then((result) =>
      process.send!({ id: request.id, value: result.value, status: result.status, l2Reads })
    )
  })
  process.send!("ready")
  yield* Effect.never
}).pipe(Effect.provide(Store), Effect.scoped, Effect.runPromise)
