import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cached, CacheSettings, KeyConstructor, KeyField } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect, Layer } from "effect"
import { cleanup, countingClient } from "./redis.js"

const prefix = `redis-many-${process.pid}-${Date.now()}`

afterAll(() => cleanup(prefix))

const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("page")]
})

type Post = { readonly author: number; readonly page: number }

const inputs = (pages: ReadonlyArray<number>): Array<Post> => pages.map((page) => ({ author: page % 3, page }))

describe("Cached.many on Redis", () => {
  it.live("reads N keys in one script call, fills only the misses, and then hits in one call", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* countingClient
      const computed: Array<number> = []
      const fn = Cached.cached({ key: Posts, ttl: "1 minute" })((input: Post) =>
        Effect.sync(() => {
          computed.push(input.page)
          return `${input.author}/${input.page}`
        })
      )
      const program = Effect.gen(function*() {
        yield* fn.many(inputs([100])) // loads the script, should Redis not know it yet
        for (const post of inputs([1, 2, 3])) {
          yield* fn(post)
        }
        computed.length = 0
        sent.length = 0
        const pages = [5, 1, 6, 2, 7, 3, 8, 9, 10, 11, 5, 1]
        const expected = inputs(pages).map((input) => `${input.author}/${input.page}`)
        expect(yield* fn.many(inputs(pages))).toEqual(expected)
        expect(computed.sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10, 11])
        // one read of the 10 distinct keys (3 Redis keys each: entry, partition and namespace stamps), then a fill per miss
        expect(sent).toEqual(["evalsha 30", ...Array.from({ length: 7 }, () => "evalsha 3")])

        sent.length = 0
        expect(yield* fn.many(inputs(pages))).toEqual(expected)
        expect(sent).toEqual(["evalsha 30"])
        expect(computed).toHaveLength(7)
      })
      yield* program.pipe(
        Effect.provide(Layer.provideMerge(
          RedisStore.layer({ client }),
          // the reads and fills of a batch, counted alone: a miss's lease round trips are Leases.test.ts's
          CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "10 seconds", leaseDuration: 0 })
        ))
      )
    }).pipe(Effect.scoped))

  it.live("with leases on, a batch reads without them: each miss takes its lease apart, then reads and fills", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* countingClient
      const fn = Cached.cached({ key: Posts, name: "leased", ttl: "1 minute" })((input: Post) => Effect.succeed(input.page))
      const program = Effect.gen(function*() {
        yield* fn.many(inputs([100])) // loads the scripts, should Redis not know them yet
        sent.length = 0
        expect(yield* fn.many(inputs([1, 2]))).toEqual([1, 2])
        // one read of both keys; per miss: the acquire script, the read under the lease, the fill, the release
        expect(sent.slice(0, 1)).toEqual(["evalsha 6"])
        expect(sent.slice(1).sort()).toEqual(["evalsha 1", "evalsha 1", "evalsha 1", "evalsha 1", "evalsha 3", "evalsha 3", "evalsha 3", "evalsha 3"])
      })
      yield* program.pipe(
        Effect.provide(Layer.provideMerge(
          RedisStore.layer({ client }),
          CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "10 seconds" })
        ))
      )
    }).pipe(Effect.scoped))

  it.live("a batch larger than one script call is read in several calls sent at once", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* countingClient
      const fn = Cached.cached({ key: Posts, name: "wide", ttl: "1 minute" })((input: Post) => Effect.succeed(input.page))
      const pages = Array.from({ length: 1001 }, (_, i) => i)
      const program = Effect.gen(function*() {
        expect(yield* fn.many(inputs(pages))).toEqual(pages)
        sent.length = 0
        expect(yield* fn.many(inputs(pages))).toEqual(pages)
        expect(sent).toEqual(["evalsha 1500", "evalsha 1500", "evalsha 3"])
      })
      yield* program.pipe(
        Effect.provide(Layer.provideMerge(
          RedisStore.layer({ client }),
          CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "10 seconds" })
        ))
      )
    }).pipe(Effect.scoped))
})
