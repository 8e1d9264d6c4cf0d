import { describe, expect, it } from "@effect/vitest"
import {
  Cached,
  CacheKey,
  CacheStore,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  TestCache,
  Ttl
} from "@cachefx/core"
import { Deferred, Duration, Effect, Layer, Option, TestClock } from "effect"
import { describeOp, Posts, type PostInput } from "./posts.js"

const input: PostInput = { author: 1, post: 1 }

const swr = Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "10 minutes" })

/**
 * A cached value over `Posts` that counts its computations; every computation after the
 * first waits for `gate`, so a test sees a refresh under way.
 */
const gated = (options: {
  readonly ttl: Ttl.TtlInput
  readonly rules?: ReadonlyArray<InvalidationRule.InvalidationRule>
  readonly name?: string
}) =>
  Effect.map(Deferred.make<void>(), (gate) => {
    let calls = 0
    const fn = Cached.cached({ key: Posts, ttl: options.ttl, invalidatesOn: options.rules, name: options.name })((
      input: PostInput
    ) =>
      Effect.suspend(() => {
        const call = ++calls
        const value = `${input.author}/${input.post}#${call}`
        return call === 1 ? Effect.succeed(value) : Effect.as(Deferred.await(gate), value)
      })
    )
    return { fn, gate, calls: () => calls }
  })

type Fn = Cached.Cached<PostInput, string, never, never, { readonly author: number }>

const statusOf = <A>(result: Cached.CacheResult<A>) => [result.status, result.value] as const

/** Lets forked refreshes run to their end. */
const settle = Effect.yieldNow().pipe(Effect.repeatN(20))

const softly: Record<string, (fn: Fn) => Effect.Effect<void, unknown, CacheStore.CacheStore>> = {
  "a soft delete": (fn) => fn.delete(input, { soft: true }),
  "a soft partition wipe": (fn) => fn.deletePartition({ author: 1 }, { soft: true }),
  "a soft namespace wipe": (fn) => KeyConstructor.invalidateAll(fn.key, { soft: true })
}

describe("soft invalidation through cached()", () => {
  for (const [name, invalidate] of Object.entries(softly)) {
    it.effect(`after ${name}, the next calls are served stale while exactly one refresh runs, then fresh`, () =>
      Effect.gen(function*() {
        const { calls, fn, gate } = yield* gated({ ttl: swr })
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#1"])
        yield* invalidate(fn)
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
        yield* settle
        expect(calls()).toBe(2)
        yield* Deferred.succeed(gate, void 0)
        yield* settle
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Hit", "1/1#2"])
        expect(calls()).toBe(2)
      }).pipe(Effect.provide(TestCache.layer())))

    it.effect(`without a stale-while-revalidate window, ${name} makes the next call a miss`, () =>
      Effect.gen(function*() {
        const { fn, gate } = yield* gated({ ttl: "1 hour" })
        yield* Deferred.succeed(gate, void 0)
        yield* fn(input)
        yield* invalidate(fn)
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#2"])
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Hit", "1/1#2"])
      }).pipe(Effect.provide(TestCache.layer())))
  }

  it.effect("an entry without expiry has no stale window: a soft delete makes the next call a miss", () =>
    Effect.gen(function*() {
      const { fn, gate } = yield* gated({ ttl: Ttl.forever })
      yield* Deferred.succeed(gate, void 0)
      yield* fn(input)
      yield* fn.delete(input, { soft: true })
      expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#2"])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a softly invalidated entry is served only until the end of its stale window", () =>
    Effect.gen(function*() {
      const { fn, gate } = yield* gated({ ttl: swr })
      yield* Deferred.succeed(gate, void 0)
      yield* fn(input)
      yield* fn.delete(input, { soft: true })
      yield* TestClock.adjust("11 minutes")
      expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#2"])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("peek gives a softly invalidated value within its stale window, and nothing without one", () =>
    Effect.gen(function*() {
      const withWindow = yield* gated({ ttl: swr })
      yield* withWindow.fn(input)
      yield* withWindow.fn.delete(input, { soft: true })
      expect(yield* withWindow.fn.peek(input)).toEqual(Option.some("1/1#1"))
      const without = yield* gated({ ttl: "1 hour", name: "posts-without-window" })
      yield* without.fn({ author: 2, post: 1 })
      yield* without.fn.delete({ author: 2, post: 1 }, { soft: true })
      expect(yield* without.fn.peek({ author: 2, post: 1 })).toEqual(Option.none())
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a hard delete after a soft one makes the next call a miss", () =>
    Effect.gen(function*() {
      const { fn, gate } = yield* gated({ ttl: swr })
      yield* Deferred.succeed(gate, void 0)
      yield* fn(input)
      yield* fn.delete(input, { soft: true })
      yield* fn.delete(input)
      expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#2"])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("a computation under way when a soft delete comes is returned, not stored; the refresh after it is", () =>
    Effect.gen(function*() {
      const { calls, fn, gate } = yield* gated({ ttl: swr })
      yield* fn(input)
      yield* TestClock.adjust("2 minutes")
      // stale by age: one refresh starts, and waits at the gate
      expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
      yield* settle
      yield* fn.delete(input, { soft: true })
      // the refresh that began before is forgotten: this call starts one of its own
      expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
      yield* settle
      expect(calls()).toBe(3)
      yield* Deferred.succeed(gate, void 0)
      yield* settle
      const cache = yield* TestCache.TestCache
      expect((yield* cache.log).filter((op) => op.op === "set").map((op) => op.outcome)).toEqual([
        "stored",
        "refused",
        "stored"
      ])
      expect(statusOf(yield* fn.withStatus(input))).toEqual(["Hit", "1/1#3"])
    }).pipe(Effect.provide(TestCache.layer())))
})

describe("soft invalidation rules", () => {
  const posts = "posts"
  const engine = (caches: ReadonlyArray<Cached.Cached.Any>) =>
    InvalidationEngine.layer({ caches }).pipe(Layer.provideMerge(TestCache.layer()))

  /** The invalidations the store saw, as `describeOp` gives them with ` soft` when soft. */
  const wipes = Effect.map(
    Effect.flatMap(TestCache.TestCache, (cache) => cache.log),
    (log) =>
      log.filter((op) => op.op !== "get" && op.op !== "set").map((op) =>
        `${describeOp(op)}${op.soft === true ? " soft" : ""}`
      )
  )

  const update = (author: number, id: number) =>
    InvalidationEvent.make({ table: posts, operation: "update", rows: [{ id, author_id: author }], changed: ["title"] })

  it.effect("a soft rule's key deletion is soft: the next call is stale, one refresh runs, then fresh", () => {
    const rule = InvalidationRule.make({ table: posts, fieldMapping: { author: "author_id", post: "id" }, soft: true })
    return Effect.gen(function*() {
      const { calls, fn, gate } = yield* gated({ ttl: swr, rules: [rule] })
      return yield* Effect.gen(function*() {
        yield* fn(input)
        yield* Invalidation.publish(update(1, 1))
        expect(yield* wipes).toEqual(["invalidate key cachefx:posts:1:#1:#1 soft"])
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
        yield* Deferred.succeed(gate, void 0)
        yield* settle
        expect(calls()).toBe(2)
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Hit", "1/1#2"])
      }).pipe(Effect.provide(engine([fn])))
    })
  })

  it.effect("a soft rule wipes partitions and namespaces softly", () => {
    const byAuthor = InvalidationRule.make({ table: posts, fieldMapping: { author: "author_id" }, soft: true })
    const custom = InvalidationRule.custom({ table: "users", soft: true, run: (_, cached) => cached.invalidateAll })
    return Effect.gen(function*() {
      const { fn } = yield* gated({ ttl: swr, rules: [byAuthor, custom] })
      return yield* Effect.gen(function*() {
        yield* Invalidation.publish(update(1, 1))
        yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] }))
        expect(yield* wipes).toEqual(["invalidate partition cachefx:posts:1:#1 soft", "invalidate namespace cachefx:posts soft"])
      }).pipe(Effect.provide(engine([fn])))
    })
  })

  it.effect("a soft rule with rewarm deletes the key it rewarms hard, and recomputes it", () => {
    const rule = InvalidationRule.make({
      table: posts,
      fieldMapping: { author: "author_id", post: "id" },
      rewarm: true,
      soft: true
    })
    return Effect.gen(function*() {
      const { fn, gate } = yield* gated({ ttl: swr, rules: [rule] })
      yield* Deferred.succeed(gate, void 0)
      return yield* Effect.gen(function*() {
        yield* fn(input)
        yield* Invalidation.publish(update(1, 1))
        expect(yield* wipes).toEqual(["invalidate key cachefx:posts:1:#1:#1"])
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Hit", "1/1#2"])
      }).pipe(Effect.provide(engine([fn])))
    })
  })

  it("describe shows which rules are soft", () => {
    const rule = InvalidationRule.make({ table: posts, fieldMapping: { author: "author_id" }, soft: true })
    const fn = Cached.cached({ key: Posts, invalidatesOn: [rule] })((input: PostInput) => Effect.succeed(input.post))
    expect(InvalidationEngine.describe({ caches: [fn] }).tables[0]?.rules[0]?.soft).toBe(true)
  })
})

describe("the store combinators and soft invalidation", () => {
  const key = { namespace: "cachefx:n", partition: "cachefx:n:1:p", key: "cachefx:n:1:p:a" }
  const entry = { value: 1, cachedAt: 0, expiresAt: null, staleUntil: null }

  it.effect("TestCache logs soft invalidations apart, and a read of a softened entry as stale", () =>
    Effect.gen(function*() {
      const store = yield* CacheStore.CacheStore
      const cache = yield* TestCache.TestCache
      yield* store.set(key, entry, (yield* store.get(key)).guard)
      yield* store.invalidate(CacheKey.key(key), { soft: true })
      yield* store.get(key)
      yield* store.invalidate(CacheKey.partition(key), { soft: true })
      yield* store.invalidate(CacheKey.namespace(key.namespace), { soft: true })
      yield* store.invalidate(CacheKey.namespace(key.namespace))
      expect((yield* cache.log).slice(2)).toEqual([
        { op: "invalidate", scope: "Key", target: key.key, outcome: "done", soft: true },
        { op: "get", target: key.key, outcome: "stale" },
        { op: "invalidate", scope: "Partition", target: key.partition, outcome: "done", soft: true },
        { op: "invalidate", scope: "Namespace", target: key.namespace, outcome: "done", soft: true },
        { op: "invalidate", scope: "Namespace", target: key.namespace, outcome: "done" }
      ])
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("withTimeout passes the options on, and keeps getMany and leases; a store without leases has none", () =>
    Effect.gen(function*() {
      const memory = yield* CacheStore.makeMemory()
      const asked: Array<string> = []
      const leases: CacheStore.Leases = {
        acquire: () => Effect.sync(() => asked.push("acquire")).pipe(Effect.as(Option.none())),
        release: () => Effect.sync(() => void asked.push("release")),
        awaitRelease: () => Effect.sync(() => void asked.push("awaitRelease"))
      }
      const store = CacheStore.withTimeout({
        ...memory,
        getMany: (keys) => Effect.forEach(keys, (key) => memory.get(key)),
        leases
      }, "1 second")
      yield* store.set(key, entry, (yield* store.get(key)).guard)
      yield* store.invalidate(CacheKey.key(key), { soft: true })
      expect((yield* store.get(key)).stale).toBe(true)
      expect((yield* store.getMany([key])).map((lookup) => lookup.stale)).toEqual([true])
      yield* store.leases!.acquire(key, Duration.seconds(1))
      yield* store.leases!.release(key, "token" as CacheStore.LeaseToken)
      yield* store.leases!.awaitRelease(key, Duration.seconds(1))
      expect(asked).toEqual(["acquire", "release", "awaitRelease"])
      const { get, getMany, invalidate, set } = memory
      const bare = CacheStore.withTimeout({ get, getMany, set, invalidate }, "1 second")
      expect([bare.leases, bare.deleteVersions]).toEqual([undefined, undefined])
    }))
})
