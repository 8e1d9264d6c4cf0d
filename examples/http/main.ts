/**
 * A small HTTP API with cached reads that writes invalidate: users and their timelines,
 * on Drizzle over PGlite (PostgreSQL in process). Reads are cached responses; writes go
 * through the instrumented Drizzle database, whose events wipe exactly the partitions
 * (the `:id` path parameter, mapped from the rows) they make stale.
 *
 * Run: npm run example:http          (serves on PORT, default 3000; try the curl lines it prints)
 *      npm run example:http -- --demo (sends the requests itself, prints the answers, exits)
 */
import { CacheStore, InvalidationEngine, InvalidationRule, KeyConstructor } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
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
import { PGlite } from "@electric-sql/pglite"
import { desc, eq, sql } from "drizzle-orm"
import { integer, pgTable, serial, text } from "drizzle-orm/pg-core"
import { drizzle, type PgliteDatabase } from "drizzle-orm/pglite"
import { Context, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"

const users = pgTable("users", { id: integer("id").primaryKey(), name: text("name").notNull() })
const posts = pgTable("posts", {
  id: serial("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  text: text("text").notNull()
})

/** Reads use the database, writes its instrumented twin (which publishes what they change). */
class Db extends Context.Tag("example/Db")<Db, { readonly read: PgliteDatabase; readonly write: PgliteDatabase }>() {}

const query = <A>(f: (db: Db["Type"]) => Promise<A>) => Effect.flatMap(Db, (db) => Effect.promise(() => f(db)))

/** Both reads are partitioned by the `id` path parameter, which the rules map from the rows. */
const byUser = (namespace: string) =>
  KeyConstructor.make({
    namespace,
    fields: [RequestKeyField.pathParams(["id"], { partition: true }), RequestKeyField.query("*", { hash: true })]
  })

const userId = Effect.map(HttpRouter.schemaPathParams(Schema.Struct({ id: Schema.NumberFromString })), (p) => p.id)

const getUser = ResponseCache.cached({
  key: byUser("user"),
  ttl: "10 minutes",
  headers: true,
  invalidatesOn: [InvalidationRule.make({ table: users, fieldMapping: { id: users.id } })]
})(Effect.gen(function*() {
  const id = yield* userId
  const [user] = yield* query((db) => db.read.select().from(users).where(eq(users.id, id)))
  return user === undefined ? HttpServerResponse.text("no such user", { status: 404 }) : yield* HttpServerResponse.json(user)
}))

const getTimeline = ResponseCache.cached({
  key: byUser("timeline"),
  ttl: "1 minute",
  headers: true,
  invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { id: posts.authorId } })]
})(Effect.gen(function*() {
  const id = yield* userId
  const rows = yield* query((db) =>
    db.read.select().from(posts).where(eq(posts.authorId, id)).orderBy(desc(posts.id)).limit(20)
  )
  return yield* HttpServerResponse.json(rows)
}))

const rename = Effect.gen(function*() {
  const id = yield* userId
  const { name } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ name: Schema.String }))
  yield* query((db) => db.write.update(users).set({ name }).where(eq(users.id, id)))
  return HttpServerResponse.empty({ status: 204 })
})

const addPost = Effect.gen(function*() {
  const id = yield* userId
  const { text } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ text: Schema.String }))
  const [post] = yield* query((db) => db.write.insert(posts).values({ authorId: id, text }).returning())
  return yield* HttpServerResponse.json(post, { status: 201 })
})

const router = HttpRouter.empty.pipe(
  HttpRouter.get("/users/:id", getUser),
  HttpRouter.put("/users/:id", rename),
  HttpRouter.get("/users/:id/timeline", getTimeline),
  HttpRouter.post("/users/:id/posts", addPost)
)

const caches = [getUser.cache, getTimeline.cache]

const DbLive = Layer.effect(
  Db,
  Effect.gen(function*() {
    const read = drizzle(new PGlite())
    yield* Effect.promise(async () => {
      await read.execute(sql`create table users (id integer primary key, name text not null)`)
      await read.execute(sql`create table posts (id serial primary key, author_id integer not null, text text not null)`)
      await read.insert(users).values([{ id: 1, name: "Ada" }, { id: 2, name: "Grace" }])
      await read.insert(posts).values({ authorId: 1, text: "Hello" })
    })
    return { read, write: yield* DrizzleHooks.instrument(read, { caches }) }
  })
)

const port = Number(process.env["PORT"] ?? 3000)

const ServerLive = HttpServer.serve(router).pipe(
  Layer.provide(DbLive),
  Layer.provide(InvalidationEngine.layer({ caches })),
  Layer.provide(CacheStore.layerMemory()),
  Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
)

const base = `http://127.0.0.1:${port}`

/** The requests of the README, sent in order, with the cache status and time of each answer. */
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
        `${method.padEnd(4)} ${path.padEnd(20)} ${response.status} ${(response.headers["x-cache-status"] ?? "").padEnd(4)}`,
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
  curl -i ${base}/users/1
  curl -i -X PUT ${base}/users/1 -d '{"name":"Ada Lovelace"}'
  curl -i ${base}/users/1/timeline
  curl -i -X POST ${base}/users/1/posts -d '{"text":"hi"}'`)
  NodeRuntime.runMain(Layer.launch(ServerLive))
}
