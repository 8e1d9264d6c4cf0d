/**
 * A process that commits a write through an instrumented database with an outbox whose
 * rule runs on the `pool` dispatcher, on a store that takes 30 s to answer: the write
 * returns with the job queued or running, and the outbox test kills the process there.
 */
import {
  Cached,
  CacheSettings,
  Dispatcher,
  InvalidationEngine,
  InvalidationRule,
  KeyConstructor,
  KeyField,
  TestCache
} from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { eq } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { Effect, Layer } from "effect"
import pg from "pg"
import { outboxTable, posts } from "./outboxSchema.js"

const post = Cached.cached({
  key: KeyConstructor.make({ namespace: "post", fields: [KeyField.arg("id")] }),
  invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { id: posts.id }, dispatcher: "pool" })]
})((input: { readonly id: number }) => Effect.succeed(input.id))

const pool = new pg.Pool({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", max: 1 })

const Live = InvalidationEngine.layer({ caches: [post] }).pipe(
  Layer.provide(Dispatcher.layerPool({ concurrency: 1 })),
  Layer.provideMerge(TestCache.layer()),
  Layer.provide(CacheSettings.layer({ operationTimeout: "1 minute" }))
)

Effect.gen(function*() {
  const cache = yield* TestCache.TestCache
  yield* cache.delayNext(100, "30 seconds")
  const db = yield* DrizzleHooks.instrument(drizzle(pool), { caches: [post], outbox: { table: outboxTable } })
  yield* Effect.promise(() => db.update(posts).set({ title: "pooled" }).where(eq(posts.id, 1)))
  yield* Effect.sync(() => console.log("written"))
  yield* Effect.never
}).pipe(Effect.provide(Live), Effect.runPromise)
