/**
 * The blog API (examples/blog/app.ts) on PGlite, or on the PostgreSQL of `DATABASE_URL`
 * (in the schema `cachefx_blog`).
 *
 * Run: npm run example:blog                (serves on PORT, default a free port; prints curl lines)
 *      npm run example:blog -- --demo      (sends the requests itself, prints each answer, exits)
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import * as App from "./app.js"
import * as Database from "./database.js"

const ServerLive = Layer.unwrapScoped(
  Effect.map(
    Database.open({ url: process.env["DATABASE_URL"] }),
    (db) => App.layer(db, { port: Number(process.env["PORT"] ?? 0) })
  )
)

const baseUrl = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : "http://unix")

/** One request, printed with its status, X-Cache-Status and body; gives the body. */
const step = (base: string, method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const request = HttpClientRequest.make(method)(base + path)
    const response = yield* client.execute(body === undefined ? request : HttpClientRequest.bodyUnsafeJson(request, body))
    const text = yield* response.text
    const status = response.headers["x-cache-status"] ?? ""
    console.log(`${method.padEnd(6)} ${path.padEnd(20)} ${response.status} ${status.padEnd(4)} ${text}`)
    return text
  }).pipe(Effect.scoped)

const created = Schema.decode(Schema.parseJson(Schema.Struct({ id: Schema.Number })))

/** The story of the README, on posts of its own (so it runs again on a database that kept the last run's). */
const demo = (base: string) =>
  Effect.gen(function*() {
    const show = (note: string) => Effect.sync(() => console.log(`\n# ${note}`))
    const post = (authorId: number, title: string, published: boolean) =>
      Effect.flatMap(step(base, "POST", "/posts", { authorId, title, published }), created)
    yield* show("an author's posts: a cached response")
    yield* step(base, "GET", "/authors/1/posts")
    yield* step(base, "GET", "/authors/1/posts")
    yield* step(base, "GET", "/authors/2/posts")
    yield* show("a new post by author 1 wipes author 1's list only")
    const { id: sketch } = yield* post(1, "Sketch of the analytical engine", true)
    yield* step(base, "GET", "/authors/1/posts")
    yield* step(base, "GET", "/authors/2/posts")
    yield* show("one post: a cached value the pool rewarms after each write (the insert warmed it)")
    yield* step(base, "GET", `/posts/${sketch}`)
    yield* step(base, "PATCH", `/posts/${sketch}`, { title: "Sketch of the analytical engine, with notes" })
    yield* Effect.sleep("100 millis") // the pool rewarms the post meanwhile
    yield* step(base, "GET", `/posts/${sketch}`)
    yield* show("stats: a custom invalidator ignores a new title, not a published flag")
    const { id: draft } = yield* post(1, "Bernoulli numbers (draft)", false)
    yield* step(base, "GET", "/authors/1/stats")
    yield* step(base, "PATCH", `/posts/${draft}`, { title: "Bernoulli numbers (second draft)" })
    yield* step(base, "GET", "/authors/1/stats")
    yield* step(base, "PATCH", `/posts/${draft}`, { published: true })
    yield* step(base, "GET", "/authors/1/stats")
    yield* show("moving a post to author 2 wipes both lists; deleting it wipes author 2's")
    yield* step(base, "GET", "/authors/1/posts")
    yield* step(base, "PATCH", `/posts/${draft}`, { authorId: 2 })
    yield* step(base, "GET", "/authors/1/posts")
    yield* step(base, "GET", "/authors/2/posts")
    yield* step(base, "DELETE", `/posts/${draft}`)
    yield* step(base, "GET", "/authors/2/posts")
  }).pipe(Effect.provide(FetchHttpClient.layer))

const serve = (base: string) =>
  Effect.zipRight(
    Effect.sync(() =>
      console.log(`Listening on ${base}. Try:
  curl -i ${base}/authors/1/posts
  curl -i ${base}/posts/1
  curl -i ${base}/authors/1/stats
  curl -i -X POST ${base}/posts -d '{"authorId":1,"title":"hi","published":true}'
  curl -i -X PATCH ${base}/posts/1 -d '{"title":"renamed"}'
  curl -i -X DELETE ${base}/posts/1`)
    ),
    Effect.never
  )

NodeRuntime.runMain(
  Effect.scoped(
    Effect.gen(function*() {
      const context = yield* Layer.build(ServerLive)
      const base = yield* Effect.provide(baseUrl, context)
      yield* process.argv.includes("--demo") ? demo(base) : serve(base)
    })
  )
)
