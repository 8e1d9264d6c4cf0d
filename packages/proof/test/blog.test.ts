/**
 * examples/blog end to end: the app is started on PGlite and on real PostgreSQL
 * (127.0.0.1:5432, a schema of its own) on a free port, and driven over HTTP by a real
 * client. Its reads are counted through Drizzle's query logger, so "the handler was
 * skipped" means no query ran.
 */
import { CacheMetrics } from "@cachefx/core"
import { expect, layer } from "@effect/vitest"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { Effect, Layer, Metric, Schedule, Schema } from "effect"
import pg from "pg"
import * as App from "../../../examples/blog/app.js"
import * as Database from "../../../examples/blog/database.js"
import { Post } from "../../../examples/blog/schema.js"

const postgresUrl = "postgres://postgres@127.0.0.1:5432/test"
const schemaName = `proof_blog_${process.pid}`

/** Selects run by the app, the rewarms on its pool included. */
const reads = { count: 0 }
const logger = {
  logQuery: (query: string) => {
    if (/^\s*select/i.test(query)) {
      reads.count++
    }
  }
}

const dropSchema = Effect.promise(async () => {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  await client.query(`drop schema if exists ${schemaName} cascade`).finally(() => client.end())
})

/** The app on a database, with a client; on PostgreSQL its schema is dropped afterwards. */
const AppLive = (url: string | undefined) =>
  Layer.unwrapScoped(
    Effect.map(Database.open({ url, schema: schemaName, logger }), (db) => App.layer(db))
  ).pipe(
    Layer.provide(url === undefined ? Layer.empty : Layer.scopedDiscard(Effect.addFinalizer(() => dropSchema))),
    Layer.merge(FetchHttpClient.layer)
  )

interface Answer {
  readonly status: number
  readonly cache: string | undefined
  readonly body: unknown
}

const send = (method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    const request = HttpClientRequest.make(method)(`http://127.0.0.1:${port}${path}`)
    const response = yield* HttpClient.execute(
      body === undefined ? request : HttpClientRequest.bodyUnsafeJson(request, body)
    )
    const text = yield* response.text
    const answer: Answer = {
      status: response.status,
      cache: response.headers["x-cache-status"],
      body: text === "" || !response.headers["content-type"]?.includes("json") ? text : JSON.parse(text)
    }
    return answer
  }).pipe(Effect.scoped, Effect.orDie)

const get = (path: string) => send("GET", path)

const posts = Schema.decodeUnknownSync(Schema.Array(Post))
const post = Schema.decodeUnknownSync(Post)
const stats = Schema.decodeUnknownSync(Schema.Struct({ published: Schema.Number, drafts: Schema.Number }))

/** Reads a path until it is cached: the second read is a hit. */
const cachedRead = (path: string) =>
  Effect.gen(function*() {
    yield* get(path)
    const answer = yield* get(path)
    expect(answer.cache).toBe("HIT")
    return answer
  })

const create = (authorId: number, title: string, published = true) =>
  Effect.map(send("POST", "/posts", { authorId, title, published }), (answer) => {
    expect(answer.status).toBe(201)
    return post(answer.body)
  })

/** Waits until the `pool` dispatcher has run every job it was given. */
const poolIdle = Metric.value(Metric.tagged(CacheMetrics.invalidationJobsPending, "dispatcher", "pool")).pipe(
  Effect.filterOrFail((state) => state.value === 0),
  Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("5 seconds"))),
  Effect.orDie
)

const ids = (answer: Answer) => posts(answer.body).map((row) => row.id)

const databases = [["PGlite", undefined], ["PostgreSQL", postgresUrl]] as const

for (const [name, url] of databases) {
  layer(AppLive(url), { excludeTestServices: true, timeout: "30 seconds" })(`examples/blog on ${name}`, (it) => {
    it.effect("a cached list: MISS, then HIT without running the handler", () =>
      Effect.gen(function*() {
        const first = yield* get("/authors/1/posts?view=fresh")
        expect(first.cache).toBe("MISS")
        const before = reads.count
        const second = yield* get("/authors/1/posts?view=fresh")
        expect(second.cache).toBe("HIT")
        expect(second.body).toEqual(first.body)
        expect(reads.count).toBe(before)
      }))

    it.effect("a new post by author 1 wipes author 1's list, not author 2's", () =>
      Effect.gen(function*() {
        yield* cachedRead("/authors/1/posts")
        const other = yield* cachedRead("/authors/2/posts")
        const created = yield* create(1, "Sketch of the analytical engine")
        const mine = yield* get("/authors/1/posts")
        expect(mine.cache).toBe("MISS")
        expect(ids(mine)).toContain(created.id)
        const theirs = yield* get("/authors/2/posts")
        expect(theirs.cache).toBe("HIT")
        expect(theirs.body).toEqual(other.body)
      }))

    it.effect("a new title rewarms the post on the pool: the next read is a HIT with it", () =>
      Effect.gen(function*() {
        const created = yield* create(1, "First title")
        yield* cachedRead(`/posts/${created.id}`)
        const patched = yield* send("PATCH", `/posts/${created.id}`, { title: "Second title" })
        expect(post(patched.body).title).toBe("Second title")
        yield* poolIdle
        const before = reads.count
        const after = yield* get(`/posts/${created.id}`)
        expect(after.cache).toBe("HIT")
        expect(post(after.body).title).toBe("Second title")
        expect(reads.count).toBe(before)
      }))

    it.effect("moving a post to another author wipes both authors' lists", () =>
      Effect.gen(function*() {
        const moved = yield* create(1, "Moving house")
        yield* cachedRead("/authors/1/posts")
        yield* cachedRead("/authors/2/posts")
        yield* send("PATCH", `/posts/${moved.id}`, { authorId: 2 })
        const from = yield* get("/authors/1/posts")
        expect(from.cache).toBe("MISS")
        expect(ids(from)).not.toContain(moved.id)
        const to = yield* get("/authors/2/posts")
        expect(to.cache).toBe("MISS")
        expect(ids(to)).toContain(moved.id)
      }))

    it.effect("stats: the custom invalidator ignores a new title, not a published flag nor a move", () =>
      Effect.gen(function*() {
        const draft = yield* create(1, "A draft", false)
        const start = stats((yield* cachedRead("/authors/1/stats")).body)
        const otherStart = yield* cachedRead("/authors/2/stats")

        yield* send("PATCH", `/posts/${draft.id}`, { title: "A better draft" })
        const untouched = yield* get("/authors/1/stats")
        expect(untouched.cache).toBe("HIT")

        yield* send("PATCH", `/posts/${draft.id}`, { published: true })
        const published = yield* get("/authors/1/stats")
        expect(published.cache).toBe("MISS")
        expect(stats(published.body)).toEqual({ published: start.published + 1, drafts: start.drafts - 1 })
        expect((yield* get("/authors/2/stats")).body).toEqual(otherStart.body)
        expect((yield* get("/authors/2/stats")).cache).toBe("HIT")

        yield* cachedRead("/authors/1/stats")
        yield* send("PATCH", `/posts/${draft.id}`, { authorId: 2 })
        const from = yield* get("/authors/1/stats")
        const to = yield* get("/authors/2/stats")
        expect([from.cache, to.cache]).toEqual(["MISS", "MISS"])
        expect(stats(from.body)).toEqual({ published: start.published, drafts: start.drafts - 1 })
        expect(stats(to.body).published).toBe(stats(otherStart.body).published + 1)
      }))

    it.effect("a delete wipes the author's list and stats, and the post is gone", () =>
      Effect.gen(function*() {
        const doomed = yield* create(2, "Ephemeral")
        yield* cachedRead("/authors/2/posts")
        yield* cachedRead("/authors/2/stats")
        yield* cachedRead(`/posts/${doomed.id}`)
        expect((yield* send("DELETE", `/posts/${doomed.id}`)).status).toBe(204)
        const list = yield* get("/authors/2/posts")
        expect(list.cache).toBe("MISS")
        expect(ids(list)).not.toContain(doomed.id)
        expect((yield* get("/authors/2/stats")).cache).toBe("MISS")
        yield* poolIdle
        expect((yield* get(`/posts/${doomed.id}`)).status).toBe(404)
      }))
  })
}
