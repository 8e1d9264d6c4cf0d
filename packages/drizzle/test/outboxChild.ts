/**
 * A process that commits a write through an instrumented database with an outbox, then
 * hangs in publish: the outbox test kills it there, between commit and publish.
 */
import { InvalidationBus } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { eq } from "drizzle-orm"
import { drizzle } from "drizzle-orm/node-postgres"
import { Effect, Layer, Queue } from "effect"
import pg from "pg"
import { makeCaches } from "./fixtures.js"
import { outboxTable, posts } from "./outboxSchema.js"

const HangingBus = Layer.effect(
  InvalidationBus.InvalidationBus,
  Effect.map(Queue.unbounded<InvalidationBus.Delivery>(), (deliveries) => ({
    deliveries,
    publish: () => Effect.sync(() => console.log("publishing")).pipe(Effect.zipRight(Effect.never))
  }))
)

const { caches } = makeCaches(posts, () => Effect.succeed([]))
const pool = new pg.Pool({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", max: 1 })

Effect.gen(function*() {
  const db = yield* DrizzleHooks.instrument(drizzle(pool), { caches, outbox: { table: outboxTable } })
  yield* Effect.promise(() => db.update(posts).set({ authorId: 8 }).where(eq(posts.id, 1)))
}).pipe(Effect.provide(HangingBus), Effect.runPromise)
