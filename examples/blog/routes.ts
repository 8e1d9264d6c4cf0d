/**
 * The blog's routes: three cached reads, and writes through the instrumented database.
 */
import type { Cached } from "@cachefx/core"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { eq } from "drizzle-orm"
import { Effect, Schema } from "effect"
import { authorId, authorPosts, authorStats, getPost } from "./caches.js"
import { write } from "./database.js"
import { posts } from "./schema.js"

const postId = Effect.map(
  HttpRouter.schemaPathParams(Schema.Struct({ postId: Schema.NumberFromString })),
  (params) => params.postId
)

/** A cached value as JSON, with its cache status in the header `@cachefx/http` uses. */
const withStatus = <A>(result: Cached.CacheResult<A>) =>
  HttpServerResponse.json(result.value, { headers: { "x-cache-status": result.status.toUpperCase() } })

const notFound = HttpServerResponse.text("no such post", { status: 404 })

const showPost = Effect.gen(function*() {
  const result = yield* getPost.withStatus({ postId: yield* postId })
  return result.value === null ? notFound : yield* withStatus(result)
})

const showStats = Effect.flatMap(authorId, (id) => Effect.flatMap(authorStats.withStatus({ authorId: id }), withStatus))

const NewPost = Schema.Struct({
  authorId: Schema.Number,
  title: Schema.String,
  published: Schema.optionalWith(Schema.Boolean, { default: () => false })
})

const PostChanges = Schema.Struct({
  authorId: Schema.optionalWith(Schema.Number, { exact: true }),
  title: Schema.optionalWith(Schema.String, { exact: true }),
  published: Schema.optionalWith(Schema.Boolean, { exact: true })
})

const createPost = Effect.gen(function*() {
  const values = yield* HttpServerRequest.schemaBodyJson(NewPost)
  const [post] = yield* write((db) => db.insert(posts).values(values).returning())
  return yield* HttpServerResponse.json(post, { status: 201 })
})

const updatePost = Effect.gen(function*() {
  const id = yield* postId
  const changes = yield* HttpServerRequest.schemaBodyJson(PostChanges)
  if (Object.keys(changes).length === 0) {
    return HttpServerResponse.text("nothing to change", { status: 400 })
  }
  const [post] = yield* write((db) => db.update(posts).set(changes).where(eq(posts.id, id)).returning())
  return post === undefined ? notFound : yield* HttpServerResponse.json(post)
})

const deletePost = Effect.gen(function*() {
  const id = yield* postId
  const [post] = yield* write((db) => db.delete(posts).where(eq(posts.id, id)).returning({ id: posts.id }))
  return post === undefined ? notFound : HttpServerResponse.empty({ status: 204 })
})

export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/authors/:authorId/posts", authorPosts),
  HttpRouter.get("/authors/:authorId/stats", showStats),
  HttpRouter.get("/posts/:postId", showPost),
  HttpRouter.post("/posts", createPost),
  HttpRouter.patch("/posts/:postId", updatePost),
  HttpRouter.del("/posts/:postId", deletePost)
)
