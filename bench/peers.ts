/** The peers that are not Effect the benchmarks race against, each with its own best settings. */
import { BentoCache, bentostore } from "bentocache"
import { memoryDriver } from "bentocache/drivers/memory"
import { redisDriver } from "bentocache/drivers/redis"
import { createCache } from "cache-manager"
import { Effect } from "effect"

/** A bentocache store, disconnected when the scope closes. */
const scoped = (make: () => BentoCache<Record<string, never>>) =>
  Effect.acquireRelease(Effect.sync(make), (bento) => Effect.promise(() => bento.disconnectAll()))

/**
 * A memory-only bentocache (L1), room for a million entries (its default is 1,000);
 * `serialize: false` keeps the values as objects.
 */
export const bentoMemory = (serialize: boolean) =>
  scoped(() =>
    new BentoCache({
      default: "memory",
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 1_000_000, serialize })) }
    })
  )

/** A Redis-only bentocache (L2) on the redis-server of `port`. */
export const bentoRedis = (port: number) =>
  scoped(() =>
    new BentoCache({
      default: "redis",
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: "127.0.0.1", port } })) }
    })
  )

/** A cache-manager cache on its default store (an in-memory Keyv), disconnected when the scope closes. */
export const cacheManager = Effect.acquireRelease(
  Effect.sync(() => createCache()),
  (cache) => Effect.promise(() => cache.disconnect())
)
