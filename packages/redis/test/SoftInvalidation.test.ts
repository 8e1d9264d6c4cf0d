import { afterAll, describe, expect, it } from "@effect/vitest"
import {
  Cached,
  CacheSettings,
  type CacheStore,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField,
  Ttl
} from "@cachefx/core"
import { Deferred, Effect, Layer, Schedule } from "effect"
import { Redis } from "ioredis"
import * as keys from "../src/internal/keys.js"
import { cleanup, layerAt, sharedUrl } from "./redis.js"

const prefix = `redis-soft-${process.pid}-${Date.now()}`
const Shared = Layer.provideMerge(
  layerAt(sharedUrl),
  CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "1 second" })
)

afterAll(() => cleanup(prefix))

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
})

type Post = { readonly author: number; readonly page: number }

const input: Post = { author: 1, page: 1 }

const swr = Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "10 minutes" })

/** A cached value that counts its computations; every one after the first waits for `gate`. */
const gated = (
  name: string,
  ttl: Ttl.TtlInput,
  rules: ReadonlyArray<InvalidationRule.InvalidationRule> = []
) =>
  Effect.map(Deferred.make<void>(), (gate) => {
    let calls = 0
    const fn = Cached.cached({ key: Posts, name, ttl, invalidatesOn: rules })((input: Post) =>
      Effect.suspend(() => {
        const call = ++calls
        const value = `${input.author}/${input.page}#${call}`
        return call === 1 ? Effect.succeed(value) : Effect.as(Deferred.await(gate), value)
      })
    )
    return { fn, gate, calls: () => calls }
  })

type Fn = Effect.Effect.Success<ReturnType<typeof gated>>["fn"]

const statusOf = <A>(result: Cached.CacheResult<A>) => [result.status, result.value] as const

/** The first answer that is a hit, once the background refresh has stored its value. */
const nextHit = (fn: Fn) =>
  fn.withStatus(input).pipe(
    Effect.filterOrFail((result) => result.status === "Hit"),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeout("3 seconds"),
    Effect.map(statusOf)
  )

const softly: Record<string, (fn: Fn) => Effect.Effect<void, unknown, CacheStore.CacheStore>> = {
  "a soft delete": (fn) => fn.delete(input, { soft: true }),
  "a soft partition wipe": (fn) => fn.deletePartition({ author: 1 }, { soft: true }),
  "a soft namespace wipe": (fn) => KeyConstructor.invalidateAll(fn.key, { soft: true })
}

describe("soft invalidation on Redis, through cached()", () => {
  for (const [name, invalidate] of Object.entries(softly)) {
    const slug = name.replace(/ /g, "-")

    it.live(`after ${name}, calls are served stale while exactly one refresh runs, then fresh`, () =>
      Effect.gen(function*() {
        const { calls, fn, gate } = yield* gated(`swr-${slug}`, swr)
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#1"])
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Hit", "1/1#1"])
        yield* invalidate(fn)
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
        yield* Deferred.succeed(gate, void 0)
        expect(yield* nextHit(fn)).toEqual(["Hit", "1/1#2"])
        expect(calls()).toBe(2)
      }).pipe(Effect.provide(Shared)))

    it.live(`without a stale-while-revalidate window, ${name} makes the next call a miss`, () =>
      Effect.gen(function*() {
        const { fn, gate } = yield* gated(`plain-${slug}`, "1 minute")
        yield* Deferred.succeed(gate, void 0)
        yield* fn(input)
        yield* invalidate(fn)
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#2"])
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Hit", "1/1#2"])
      }).pipe(Effect.provide(Shared)))
  }

  it.live("a hard delete after a soft one makes the next call a miss", () =>
    Effect.gen(function*() {
      const { fn, gate } = yield* gated("soft-then-hard", swr)
      yield* Deferred.succeed(gate, void 0)
      yield* fn(input)
      yield* fn.delete(input, { soft: true })
      yield* fn.deletePartition({ author: 1 })
      expect(statusOf(yield* fn.withStatus(input))).toEqual(["Miss", "1/1#2"])
    }).pipe(Effect.provide(Shared)))

  it.live("a soft delete keeps the entry's expiry, and a soft wipe its stamp's", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => new Redis(sharedUrl)),
      (client) =>
        Effect.gen(function*() {
          const { fn } = yield* gated("expiry", swr)
          yield* fn(input)
          const scope = yield* KeyConstructor.partitionFor(Posts, input)
          const at = keys.physical({ ...scope, key: yield* fn.keyFor(input) })
          const ttls = Effect.promise(() => Promise.all([client.pttl(at.entry), client.pttl(at.partitionStamp)]))
          const [entryBefore, stampBefore] = yield* ttls
          yield* fn.delete(input, { soft: true })
          yield* fn.deletePartition({ author: 1 }, { soft: true })
          const [entryAfter, stampAfter] = yield* ttls
          expect(entryAfter).toBeGreaterThan(entryBefore - 1_000)
          expect(entryAfter).toBeLessThanOrEqual(entryBefore)
          expect(stampAfter).toBeGreaterThan(stampBefore - 1_000)
          expect(stampAfter).toBeLessThanOrEqual(stampBefore)
        }).pipe(Effect.provide(Shared)),
      (client) => Effect.promise(() => client.quit())
    ))

  it.live("a soft rule, run by the engine, leaves the key stale: served once more while one refresh runs", () => {
    const rule = InvalidationRule.make({ table: "posts", fieldMapping: { author: "author_id", page: "page" }, soft: true })
    return Effect.gen(function*() {
      const { calls, fn, gate } = yield* gated("rule", swr, [rule])
      yield* Effect.gen(function*() {
        yield* fn(input)
        yield* Invalidation.publish(
          InvalidationEvent.make({ table: "posts", operation: "update", rows: [{ author_id: 1, page: 1 }], changed: ["title"] })
        )
        expect(statusOf(yield* fn.withStatus(input))).toEqual(["Stale", "1/1#1"])
        yield* Deferred.succeed(gate, void 0)
        expect(yield* nextHit(fn)).toEqual(["Hit", "1/1#2"])
        expect(calls()).toBe(2)
      }).pipe(Effect.provide(InvalidationEngine.layer({ caches: [fn] })))
    }).pipe(Effect.provide(Shared))
  })
})
