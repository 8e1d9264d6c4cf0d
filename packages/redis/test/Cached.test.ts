import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cached, CacheMetrics, CacheSettings, type CacheStore, KeyConstructor, KeyField } from "@cachefx/core"
import { Deferred, Duration, Effect, Fiber, Layer, Metric, Schedule } from "effect"
import { Redis } from "ioredis"
import * as keys from "../src/internal/keys.js"
import { cleanup, layerAt, sharedUrl } from "./redis.js"
import { freePort, startServer, unavailable } from "@cachefx/testkit"

const prefix = `redis-cached-${process.pid}-${Date.now()}`
const Settings = CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "1 second" })
const Shared = Layer.provideMerge(layerAt(sharedUrl), Settings)

afterAll(() => cleanup(prefix))

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
})

type Post = { readonly author: number; readonly page: number }

const counting = (name: string) => {
  let calls = 0
  const fn = Cached.cached({ key: Posts, name, ttl: "1 minute" })((input: Post) =>
    Effect.sync(() => `${input.author}/${input.page}#${++calls}`)
  )
  return { fn, calls: () => calls }
}

const statusOf = <A>(result: Cached.CacheResult<A>) => [result.status, result.value] as const

describe("cached() on Redis: the stale-set race", () => {
  const gated = (name: string) =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      let calls = 0
      const fn = Cached.cached({ key: Posts, name, ttl: "1 minute" })((input: Post) =>
        Effect.zipRight(
          Effect.zipRight(Deferred.succeed(started, void 0), Deferred.await(release)),
          Effect.sync(() => `${input.page}#${++calls}`)
        )
      )
      return { fn, started, release }
    })

  type Gated = Effect.Effect.Success<ReturnType<typeof gated>>["fn"]
  const invalidations: Record<string, (fn: Gated) => Effect.Effect<void, unknown, CacheStore.CacheStore>> = {
    "an exact delete": (fn) => fn.delete({ author: 1, page: 1 }),
    "a partition wipe": (fn) => fn.deletePartition({ author: 1 }),
    "a namespace wipe": (fn) => fn.invalidateAll
  }

  for (const [name, invalidate] of Object.entries(invalidations)) {
    it.live(`a computation held while ${name} happens is returned but not stored`, () =>
      Effect.gen(function*() {
        const { fn, started, release } = yield* gated(`race-${name.replace(/ /g, "-")}`)
        const fiber = yield* Effect.fork(fn({ author: 1, page: 1 }))
        yield* Deferred.await(started)
        yield* invalidate(fn)
        yield* Deferred.succeed(release, void 0)
        expect(yield* Fiber.join(fiber)).toBe("1#1")
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Miss", "1#2"])
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Hit", "1#2"])
      }).pipe(Effect.provide(Shared)))
  }
})

describe("cached() on Redis: foreign bytes", () => {
  const raw = (f: (client: Redis) => Promise<unknown>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => new Redis(sharedUrl)),
      (client) => Effect.promise(() => f(client)),
      (client) => Effect.promise(() => client.quit())
    )

  /** The Redis key of an input of `fn` (a cached value named apart from its namespace has keys of its own). */
  // a cached value named apart has a namespace of its own: `<prefix>:<namespace>:#@<name>`
  const physicalKey = (fn: ReturnType<typeof counting>["fn"], input: Post) =>
    Effect.zipWith(
      KeyConstructor.partitionFor(Posts, input),
      fn.keyFor(input),
      (scope, key) => {
        const namespace = `${scope.namespace}:#@${fn.name}`
        return keys.physical({ namespace, partition: scope.partition.replace(scope.namespace, namespace), key }).entry
      }
    )

  it.live("bytes that are not an entry are a miss, and are replaced", () =>
    Effect.gen(function*() {
      const { fn, calls } = counting("foreign")
      const at = yield* physicalKey(fn, { author: 2, page: 1 })
      yield* raw((client) => client.set(at, Buffer.from([0xff, 0x00, 0x7b, 0x20])))
      expect(statusOf(yield* fn.withStatus({ author: 2, page: 1 }))).toEqual(["Miss", "2/1#1"])
      expect(statusOf(yield* fn.withStatus({ author: 2, page: 1 }))).toEqual(["Hit", "2/1#1"])
      expect(calls()).toBe(1)
    }).pipe(Effect.provide(Shared)))

  it.live("an entry whose JSON is corrupt or of another shape is a miss, and is replaced", () =>
    Effect.gen(function*() {
      const { fn, calls } = counting("corrupt")
      const at = yield* physicalKey(fn, { author: 3, page: 1 })
      for (const corrupt of ["[1,2", "{\"value\":1}", "[\"a\",null,null,1]", ""]) {
        yield* fn({ author: 3, page: 1 })
        // keep the header (id and stamps), so only the JSON is wrong
        yield* raw(async (client) => {
          const stored = (await client.get(at))!
          const header = stored.split(" ", 3).join(" ")
          await client.set(at, `${header} ${corrupt}`, "KEEPTTL")
        })
        expect((yield* fn.withStatus({ author: 3, page: 1 })).status).toBe("Miss")
        expect((yield* fn.withStatus({ author: 3, page: 1 })).status).toBe("Hit")
      }
      expect(calls()).toBe(5)
    }).pipe(Effect.provide(Shared)))
})

describe.skipIf(unavailable !== undefined)("cached() on Redis: Redis stopped mid-test", () => {
  it.live("calls compute while Redis is down, count errors, and hit again once it is back", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const first = yield* Effect.promise(() => startServer(port))
      const { fn, calls } = counting("outage")
      const errors = Metric.tagged(CacheMetrics.errors, "cache", "outage")
      const run = Effect.gen(function*() {
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Miss", "1/1#1"])
        expect(statusOf(yield* fn.withStatus({ author: 1, page: 1 }))).toEqual(["Hit", "1/1#1"])

        yield* Effect.promise(() => first.stop())
        const before = (yield* Metric.value(errors)).count
        const [elapsed, down] = yield* Effect.timed(fn.withStatus({ author: 1, page: 1 }))
        expect(statusOf(down)).toEqual(["Miss", "1/1#2"])
        expect(yield* fn({ author: 1, page: 2 })).toBe("1/2#3")
        expect((yield* Metric.value(errors)).count).toBeGreaterThan(before)
        expect(Duration.toMillis(elapsed)).toBeLessThan(1_000)

        const second = yield* Effect.promise(() => startServer(port))
        yield* Effect.addFinalizer(() => Effect.promise(() => second.stop()))
        const back = yield* fn.withStatus({ author: 1, page: 1 }).pipe(
          Effect.filterOrFail((result) => result.status === "Hit"),
          Effect.retry(Schedule.spaced("50 millis")),
          Effect.timeout("5 seconds")
        )
        expect(back.value).toMatch(/^1\/1#/)
        expect(calls()).toBeGreaterThan(3)
      })
      yield* run.pipe(Effect.provide(Layer.provideMerge(layerAt(`redis://127.0.0.1:${port}`), Settings)))
    }).pipe(Effect.scoped), 20_000)
})
