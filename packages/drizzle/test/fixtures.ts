import { Cached, InvalidationEngine, InvalidationRule, KeyConstructor, KeyField, TestCache } from "@cachefx/core"
import type { Column } from "drizzle-orm"
import { Effect, Layer } from "effect"

/** The columns of the `posts` table of either dialect that the rules name. */
export interface Posts {
  readonly id: Column
  readonly authorId: Column
  readonly title: Column
}

const PostKey = KeyConstructor.make({ namespace: "post", fields: [KeyField.arg("id")] })
const ByAuthorKey = KeyConstructor.make({
  namespace: "byAuthor",
  fields: [KeyField.arg("authorId", { partition: true }), KeyField.arg("page")]
})
const TitlesKey = KeyConstructor.make({ namespace: "titles", fields: [KeyField.arg("authorId", { partition: true })] })

/**
 * Three cached values over `posts`: one post by id (its rule resolves the whole key), an
 * author's pages (its rule resolves the partition) and an author's titles (its rule
 * watches `title`). `read` is what a cache miss computes.
 */
export const makeCaches = <A>(posts: Posts & object, read: (authorId: number) => Effect.Effect<A>) => {
  const post = Cached.cached({
    key: PostKey,
    invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { id: posts.id } })]
  })((input: { readonly id: number }) => Effect.succeed(input.id))
  const byAuthor = Cached.cached({
    key: ByAuthorKey,
    invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId } })]
  })((input: { readonly authorId: number; readonly page: number }) => read(input.authorId))
  const titles = Cached.cached({
    key: TitlesKey,
    invalidatesOn: [
      InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId }, watchFields: [posts.title] })
    ]
  })((input: { readonly authorId: number }) => read(input.authorId))
  const caches = [post, byAuthor, titles] as const
  return {
    post,
    byAuthor,
    titles,
    caches,
    layer: InvalidationEngine.layer({ caches }).pipe(Layer.provideMerge(TestCache.layer()))
  }
}

/** Expected store operations, as `TestCache`'s log writes them. */
export const key = (namespace: "post" | "titles", value: number) => `invalidate key cachefx:${namespace}:1:#${value}`
export const partition = (value: number) => `invalidate partition cachefx:byAuthor:1:#${value}`
export const namespace = (name: string) => `invalidate namespace cachefx:${name}`

/** The invalidations logged since the last call, sorted, and the log emptied. */
export const invalidations = Effect.gen(function*() {
  const cache = yield* TestCache.TestCache
  const log = yield* cache.log
  yield* cache.clearLog
  return log.filter((op) => op.op !== "get" && op.op !== "set").map((op) => `${op.op} ${op.scope === undefined ? "" : op.scope.toLowerCase() + " "}${op.target}`)
    .sort()
})

/** Waits until the engine has handled what a synchronous driver put on the bus. */
export const settle = Effect.sleep("20 millis")
