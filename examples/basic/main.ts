/**
 * cachefx basics on the in-memory store: a miss then a hit, TTL expiry, a partition
 * wipe, stale-while-revalidate and single-flight, printed step by step.
 *
 * Run: npm run example
 */
import { Cached, CacheStore, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
import { Effect } from "effect"

let computations = 0

/** A "slow query": the posts of an author, one page at a time. */
const postsQuery = (input: { readonly authorId: number; readonly page: number }) =>
  Effect.gen(function*() {
    computations++
    yield* Effect.sleep("50 millis")
    return { authorId: input.authorId, page: input.page, titles: [`post ${input.page * 10 + 1}`] }
  })

const Posts = KeyConstructor.make({
  namespace: "posts",
  version: 1,
  fields: [KeyField.arg("authorId", { partition: true }), KeyField.arg("page")]
})

const getPosts = Cached.cached({ key: Posts, ttl: Ttl.seconds(1) })(postsQuery)

const getPostsSwr = Cached.cached({
  key: Posts,
  name: "posts-swr",
  ttl: Ttl.staleWhileRevalidate({ fresh: "300 millis", stale: "1 minute" })
})(postsQuery)

const step = (label: string, input: { readonly authorId: number; readonly page: number }) =>
  Effect.gen(function*() {
    const before = computations
    const result = yield* getPosts.withStatus(input)
    console.log(
      `${label.padEnd(44)} ${result.status.padEnd(6)} computed ${computations - before}x  key ${yield* getPosts.keyFor(input)}`
    )
  })

const program = Effect.gen(function*() {
  console.log("— cache-aside")
  yield* step("first read of author 1, page 1", { authorId: 1, page: 1 })
  yield* step("second read", { authorId: 1, page: 1 })
  yield* step("author 1, page 2", { authorId: 1, page: 2 })
  yield* step("author 2, page 1", { authorId: 2, page: 1 })

  console.log("— TTL expiry (1 second)")
  yield* Effect.sleep("1100 millis")
  yield* step("author 1, page 1 after 1.1 s", { authorId: 1, page: 1 })
  yield* step("author 2, page 1 after 1.1 s", { authorId: 2, page: 1 })

  console.log("— partition wipe of author 1")
  yield* getPosts({ authorId: 1, page: 2 })
  yield* getPosts.deletePartition({ authorId: 1 })
  yield* step("author 1, page 1", { authorId: 1, page: 1 })
  yield* step("author 1, page 2", { authorId: 1, page: 2 })
  yield* step("author 2, page 1 (other partition)", { authorId: 2, page: 1 })

  console.log("— stale-while-revalidate (fresh 300 ms, then stale)")
  yield* getPostsSwr({ authorId: 3, page: 1 })
  yield* Effect.sleep("400 millis")
  const stale = yield* getPostsSwr.withStatus({ authorId: 3, page: 1 })
  console.log(`${"read after 400 ms".padEnd(44)} ${stale.status}: answered at once, refreshing in the background`)
  yield* Effect.sleep("100 millis")
  const refreshed = yield* getPostsSwr.withStatus({ authorId: 3, page: 1 })
  console.log(`${"read after the refresh".padEnd(44)} ${refreshed.status}`)

  console.log("— single-flight: 1,000 concurrent misses of one key")
  const before = computations
  yield* Effect.all(Array.from({ length: 1_000 }, () => getPosts({ authorId: 9, page: 1 })), {
    concurrency: "unbounded"
  })
  console.log(`${"1,000 concurrent calls".padEnd(44)} computed ${computations - before}x`)
})

Effect.runPromise(program.pipe(Effect.provide(CacheStore.layerMemory({ capacity: 10_000 }))))
