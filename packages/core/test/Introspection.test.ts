import { describe, expect, it } from "@effect/vitest"
import {
  Cached,
  CacheMetrics,
  Dispatcher,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField,
  TestCache
} from "@cachefx/core"
import { integer, pgTable } from "drizzle-orm/pg-core"
import { Deferred, Effect, Fiber, Layer, Metric, Schedule } from "effect"

const posts = pgTable("posts", { id: integer("id").primaryKey(), authorId: integer("author_id").notNull() })

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("post")]
})

const cached = (rules: ReadonlyArray<InvalidationRule.InvalidationRule>, name?: string) =>
  Cached.cached({ key: Posts, invalidatesOn: rules, name })(
    (input: { readonly author: number; readonly post: number }) => Effect.succeed(input.post)
  )

describe("InvalidationEngine.describe", () => {
  it("gives tables → rules → cached values → dispatchers, as data", () => {
    const byAuthor = InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId }, dispatcher: "pool", soft: true })
    const feed = cached([
      InvalidationRule.custom({ table: "users", on: ["delete"], run: (_, cached) => cached.invalidateAll }),
      byAuthor
    ], "feed")
    const post = cached([InvalidationRule.make({ table: posts, fieldMapping: { author: "authorId", post: posts.id }, rewarm: true })])
    expect(InvalidationEngine.describe({ caches: [post, feed, post] })).toEqual({
      tables: [
        {
          table: "posts",
          rules: [
            {
              rule: "posts(author=authorId,post=id)",
              cache: "posts",
              namespace: "posts",
              kind: "fieldMapping",
              fieldMapping: { author: "author_id", post: "id" },
              on: ["insert", "update", "delete"],
              rewarm: true,
              soft: false,
              dispatcher: "inline"
            },
            {
              rule: "posts(author=author_id)",
              cache: "feed",
              namespace: "posts",
              kind: "fieldMapping",
              fieldMapping: { author: "author_id" },
              on: ["insert", "update", "delete"],
              rewarm: false,
              soft: true,
              dispatcher: "pool"
            }
          ]
        },
        {
          table: "users",
          rules: [{
            rule: "users(custom)[delete]",
            cache: "feed",
            namespace: "posts",
            kind: "custom",
            fieldMapping: {},
            on: ["delete"],
            rewarm: false,
            soft: false,
            dispatcher: "inline"
          }]
        }
      ]
    })
  })
})

describe("CacheMetrics.invalidationJobsPending", () => {
  it.scoped("counts the jobs a dispatcher has not finished, per dispatcher", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const rule = InvalidationRule.custom({
        table: "posts",
        dispatcher: "slow",
        run: (_, cached) => Effect.zipRight(Deferred.await(release), cached.invalidateAll)
      })
      const layer = InvalidationEngine.layer({ caches: [cached([rule])] }).pipe(
        Layer.provide(Dispatcher.layerPool({ concurrency: 1, name: "slow" })),
        Layer.provideMerge(TestCache.layer())
      )
      const gauge = Metric.tagged(CacheMetrics.invalidationJobsPending, "dispatcher", "slow")
      const before = (yield* Metric.value(gauge)).value
      yield* Effect.gen(function*() {
        const event = InvalidationEvent.make({ table: "posts", operation: "insert", rows: [{ id: 1 }] })
        yield* Invalidation.publish(event)
        yield* Invalidation.publish(event)
        expect((yield* Metric.value(gauge)).value - before).toBe(2)
        yield* Deferred.succeed(release, void 0)
      }).pipe(Effect.provide(layer))
      // the pool drained when its layer closed
      expect((yield* Metric.value(gauge)).value - before).toBe(0)
    }))

  it.scoped("an inline job is counted until it ends: when it dies, and when its caller is interrupted mid-job", () =>
    Effect.gen(function*() {
      const gauge = Metric.tagged(CacheMetrics.invalidationJobsPending, "dispatcher", "inline")
      const pending = Effect.map(Metric.value(gauge), (state) => state.value)
      const before = yield* pending
      const dies = InvalidationRule.custom({ table: "notes", name: "dies", run: () => Effect.die("boom") })
      yield* Invalidation.publish(InvalidationEvent.make({ table: "notes", operation: "insert", rows: [{ id: 1 }] })).pipe(
        Effect.provide(
          InvalidationEngine.layer({ caches: [cached([dies])], retry: Schedule.stop }).pipe(Layer.provideMerge(TestCache.layer()))
        )
      )
      expect(yield* pending).toBe(before)

      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const finished = yield* Deferred.make<void>()
      const run = Deferred.succeed(started, void 0).pipe(
        Effect.zipRight(Deferred.await(release)),
        Effect.zipRight(Deferred.succeed(finished, void 0)),
        Effect.asVoid
      )
      const event = InvalidationEvent.make({ table: "posts", operation: "insert", rows: [{ id: 1 }] })
      const caller = yield* Effect.fork(
        Dispatcher.inline.dispatch({ job: { cache: "posts", rule: "waits", event }, config: {}, run })
      )
      yield* Deferred.await(started)
      expect(yield* pending).toBe(before + 1)
      // the caller stops waiting: the job runs on to its end, and is counted until then
      const interrupting = yield* Effect.fork(Fiber.interrupt(caller))
      yield* Effect.yieldNow()
      expect(yield* pending).toBe(before + 1)
      yield* Deferred.succeed(release, void 0)
      yield* Fiber.join(interrupting)
      expect(yield* Deferred.isDone(finished)).toBe(true)
      expect(yield* pending).toBe(before)
    }))
})
