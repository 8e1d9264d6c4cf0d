/**
 * A small HTTP API with cached reads that writes invalidate: users and their timelines,
 * on an in-memory data source whose reads take 25 ms (a stand-in for a database query).
 *
 * Run: npm run example:http          (serves on PORT, default 3000; try the curl lines it prints)
 *      npm run example:http -- --demo (sends the requests itself, prints the answers, exits)
 */
import { CacheStore, Invalidation, InvalidationEngine, InvalidationEvent, InvalidationRule, KeyConstructor } from "@cachefx/core"
import { RequestKeyField, ResponseCache } from "@cachefx/http"
import {
  FetchHttpClient,
  HttpClient,
  HttpClientRequest,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"

interface User {
  readonly id: number
  readonly name: string
}

type Post = {
  readonly id: number
  readonly authorId: number
  readonly text: string
}

/** The data source: two tables in memory, each read taking 25 ms. */
class Db extends Context.Tag("example/Db")<Db, {
  readonly user: (id: number) => Effect.Effect<User | undefined>
  readonly timeline: (authorId: number) => Effect.Effect<ReadonlyArray<Post>>
  readonly rename: (id: number, name: string) => Effect.Effect<void>
  readonly post: (authorId: number, text: string) => Effect.Effect<Post>
}>() {}

const DbLive = Layer.sync(Db, () => {
  const users = new Map<number, User>([[1, { id: 1, name: "Ada" }], [2, { id: 2, name: "Grace" }]])
  const posts: Array<Post> = [{ id: 1, authorId: 1, text: "Hello" }]
  const slow = <A>(f: () => A) => Effect.as(Effect.sleep("25 millis"), undefined).pipe(Effect.map(f))
  return {
    user: (id) => slow(() => users.get(id)),
    timeline: (authorId) => slow(() => posts.filter((post) => post.authorId === authorId).reverse()),
    rename: (id, name) =>
      Effect.sync(() => {
        const user = users.get(id)
        if (user !== undefined) users.set(id, { ...user, name })
      }),
    post: (authorId, text) =>
      Effect.sync(() => {
        const post = { id: posts.length + 1, authorId, text }
        posts.push(post)
        return post
      })
  }
})

/** Both reads are partitioned by the `id` path parameter, which the rules map from the rows. */
const ByUser = (namespace: string) =>
  KeyConstructor.make({
    namespace,
    fields: [RequestKeyField.pathParams(["id"], { partition: true }), RequestKeyField.query("*", { hash: true })]
  })

const userId = Effect.map(HttpRouter.schemaPathParams(Schema.Struct({ id: Schema.NumberFromString })), (p) => p.id)

const getUser = ResponseCache.cached({
  key: ByUser("user"),
  ttl: "10 minutes",
  headers: true,
  invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
})(Effect.gen(function*() {
  const user = yield* Effect.flatMap(Db, (db) => Effect.flatMap(userId, db.user))
  return user === undefined ? HttpServerResponse.text("no such user", { status: 404 }) : yield* HttpServerResponse.json(user)
}))

const getTimeline = ResponseCache.cached({
  key: ByUser("timeline"),
  ttl: "1 minute",
  headers: true,
  invalidatesOn: [InvalidationRule.make({ table: "posts", fieldMapping: { id: "authorId" }, on: ["insert", "delete"] })]
})(Effect.flatMap(Db, (db) => Effect.flatMap(Effect.flatMap(userId, db.timeline), (posts) => HttpServerResponse.json(posts))))

/** Writes publish what they changed once done; the engine's inline dispatcher wipes before the reply. */
const rename = Effect.gen(function*() {
  const id = yield* userId
  const { name } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ name: Schema.String }))
  yield* Effect.flatMap(Db, (db) => db.rename(id, name))
  yield* Invalidation.publish(
    InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id, name }], changed: ["name"] })
  )
  return HttpServerResponse.empty({ status: 204 })
})

const addPost = Effect.gen(function*() {
  const id = yield* userId
  const { text } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ text: Schema.String }))
  const post = yield* Effect.flatMap(Db, (db) => db.post(id, text))
  yield* Invalidation.publish(InvalidationEvent.make({ table: "posts", operation: "insert", rows: [post] }))
  return yield* HttpServerResponse.json(post, { status: 201 })
})

const router = HttpRouter.empty.pipe(
  HttpRouter.get("/users/:id", getUser),
  HttpRouter.put("/users/:id", rename),
  HttpRouter.get("/users/:id/timeline", getTimeline),
  HttpRouter.post("/users/:id/posts", addPost)
)

const CacheLive = InvalidationEngine.layer({ caches: [getUser.cache, getTimeline.cache] }).pipe(
  Layer.provideMerge(CacheStore.layerMemory())
)

const port = Number(process.env.PORT ?? 3000)

const ServerLive = HttpServer.serve(router).pipe(
  Layer.provide(CacheLive),
  Layer.provide(DbLive),
  Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
)

const base = `http://127.0.0.1:${port}`

/** The requests of the README, sent in order, with the cache headers of each answer. */
const demo = Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  const show = (method: "GET" | "PUT" | "POST", path: string, body?: unknown) =>
    Effect.gen(function*() {
      const started = Date.now()
      const request = HttpClientRequest.make(method)(base + path)
      const response = yield* client.execute(
        body === undefined ? request : HttpClientRequest.bodyUnsafeJson(request, body)
      )
      const text = yield* response.text
      console.log(
        `${method.padEnd(4)} ${path.padEnd(22)} ${response.status} ${(response.headers["x-cache-status"] ?? "").padEnd(6)}`,
        `${String(Date.now() - started).padStart(3)} ms  ${text}`
      )
    }).pipe(Effect.scoped)
  yield* show("GET", "/users/1")
  yield* show("GET", "/users/1")
  yield* show("GET", "/users/2")
  yield* show("PUT", "/users/1", { name: "Ada Lovelace" })
  yield* show("GET", "/users/1")
  yield* show("GET", "/users/2")
  yield* show("GET", "/users/1/timeline")
  yield* show("POST", "/users/1/posts", { text: "Notes on the engine" })
  yield* show("GET", "/users/1/timeline")
  yield* show("GET", "/users/1/timeline")
}).pipe(Effect.provide(FetchHttpClient.layer))

if (process.argv.includes("--demo")) {
  NodeRuntime.runMain(Effect.scoped(Effect.zipRight(Layer.build(ServerLive), demo)))
} else {
  console.log(`Listening on ${base}. Try:
  curl -i ${base}/users/1                 # MISS, then HIT on the second call
  curl -i -X PUT ${base}/users/1 -d '{"name":"Ada Lovelace"}'
  curl -i ${base}/users/1                 # MISS: the write invalidated it
  curl -i ${base}/users/1/timeline
  curl -i -X POST ${base}/users/1/posts -d '{"text":"hi"}'`)
  NodeRuntime.runMain(Layer.launch(ServerLive))
}
