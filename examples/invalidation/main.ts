/**
 * cachefx invalidation: a write publishes an event, the engine matches it to the rules
 * of each cached value and invalidates exactly what the write made stale, printed step
 * by step. The "database" is a Map; with Drizzle, give rules the table and column objects.
 *
 * Run: npm run example:invalidation
 */
import {
  Cached,
  CacheStore,
  Dispatcher,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { Effect, Layer } from "effect"

type Post = {
  readonly id: number
  readonly author_id: number
  readonly title: string
}

const table = new Map<number, Post>([
  [1, { id: 1, author_id: 10, title: "Hello" }],
  [2, { id: 2, author_id: 10, title: "Effect" }],
  [3, { id: 3, author_id: 20, title: "Caching" }]
])

/** One post: invalidated by exact key, and recomputed at once (rewarm) on the pool. */
const getPost = Cached.cached({
  key: KeyConstructor.make({
    namespace: "post",
    fields: [KeyField.arg("authorId", { partition: true }), KeyField.arg("postId")]
  }),
  ttl: "1 hour",
  invalidatesOn: [
    InvalidationRule.make({
      table: "posts",
      fieldMapping: { authorId: "author_id", postId: "id" },
      rewarm: true,
      dispatcher: "pool"
    })
  ]
})((input: { readonly authorId: number; readonly postId: number }) =>
  Effect.sync(() => table.get(input.postId)?.title ?? "(none)")
)

/** An author's post titles: one partition per author, invalidated inline. */
const getTitles = Cached.cached({
  key: KeyConstructor.make({ namespace: "titles", fields: [KeyField.arg("authorId", { partition: true })] }),
  ttl: "1 hour",
  invalidatesOn: [InvalidationRule.make({ table: "posts", fieldMapping: { authorId: "author_id" } })]
})((input: { readonly authorId: number }) =>
  Effect.sync(() => [...table.values()].filter((post) => post.author_id === input.authorId).map((post) => post.title))
)

/** A write: change the row, then publish what changed (before and after). */
const update = (id: number, change: Partial<Post>) =>
  Effect.gen(function*() {
    const before = table.get(id)!
    const after = { ...before, ...change }
    table.set(id, after)
    console.log(`write: UPDATE posts SET ${JSON.stringify(change)} WHERE id = ${id}`)
    yield* Invalidation.publish(
      InvalidationEvent.make({ table: "posts", operation: "update", rows: [after], before: [before] })
    )
  })

const show = Effect.gen(function*() {
  for (const authorId of [10, 20]) {
    const result = yield* getTitles.withStatus({ authorId })
    console.log(`  titles of author ${authorId}: ${result.status.padEnd(5)} ${JSON.stringify(result.value)}`)
  }
  const post = yield* getPost.withStatus({ authorId: 10, postId: 1 })
  console.log(`  post 1:             ${post.status.padEnd(5)} ${JSON.stringify(post.value)}`)
})

const program = Effect.gen(function*() {
  console.log("— first reads compute, second reads hit")
  yield* show
  yield* show

  console.log("— a title changes: author 10's partition is wiped, post 1 is recomputed in the pool")
  yield* update(1, { title: "Hello, world" })
  yield* Effect.sleep("10 millis")
  yield* show

  console.log("— post 2 moves from author 10 to author 20: both partitions are wiped")
  yield* update(2, { author_id: 20 })
  yield* show
})

const Live = InvalidationEngine.layer({ caches: [getPost, getTitles] }).pipe(
  Layer.provide(Dispatcher.layerPool({ concurrency: 2 })),
  Layer.provideMerge(CacheStore.layerMemory())
)

Effect.runPromise(program.pipe(Effect.provide(Live)))
