/**
 * `@cachefx/http`: requests per second of a cached hit, on one server, against
 * - a static handler (the same JSON body, built once; target ≥ 0.85×), and
 * - the uncached handler, which runs a real SQL query on PGlite (Postgres in WASM,
 *   in process): the 20 newest of 50,000 posts of one author, without an index.
 *
 * The server runs in a child process (one core), autocannon in this one (the other),
 * on loopback only; the routes are interleaved round by round (./harness.ts), each sample
 * `BENCH_SAMPLE_MS` rounded to whole seconds (at least 3 s) of load.
 *
 * Run: npm run bench:http
 */
import { CacheStore, KeyConstructor } from "@cachefx/core"
import { RequestKeyField, ResponseCache } from "@cachefx/http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { PGlite } from "@electric-sql/pglite"
import autocannon from "autocannon"
import { Effect, Layer } from "effect"
import { fork } from "node:child_process"
import { createServer } from "node:http"
import { compare, counter, fiberLoop, main, measure, sampleMillis } from "./harness.js"

const timelineQuery = "SELECT id, body, created_at FROM posts WHERE author_id = $1 ORDER BY created_at DESC LIMIT 20"

/** A PGlite database with 50,000 posts by 500 authors. */
const database = Effect.promise(async () => {
  const db = new PGlite()
  await db.exec(`
    CREATE TABLE posts (id serial PRIMARY KEY, author_id int NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL);
    INSERT INTO posts (author_id, body, created_at)
      SELECT i % 500, 'post number ' || i, timestamptz '2026-01-01' + i * interval '1 minute'
      FROM generate_series(1, 50000) AS i;
    ANALYZE posts;
  `)
  return db
})

const server = Effect.gen(function*() {
  const db = yield* database
  const timeline = Effect.flatMap(HttpRouter.params, (params) =>
    Effect.flatMap(
      Effect.promise(() => db.query(timelineQuery, [Number(params.id)])),
      (result) => HttpServerResponse.json(result.rows)
    ))
  const staticBody = JSON.stringify((yield* Effect.promise(() => db.query(timelineQuery, [7]))).rows)
  const cached = ResponseCache.cached({
    key: KeyConstructor.make({ namespace: "timeline", fields: [RequestKeyField.pathParams(["id"], { partition: true })] }),
    ttl: "1 hour"
  })(timeline)
  const router = HttpRouter.empty.pipe(
    HttpRouter.get("/static/:id", HttpServerResponse.text(staticBody, { contentType: "application/json" })),
    HttpRouter.get("/cached/:id", cached),
    HttpRouter.get("/uncached/:id", timeline)
  )
  yield* Layer.launch(HttpServer.serve(router).pipe(
    Layer.provide(CacheStore.layerMemory()),
    Layer.provide(Layer.effectDiscard(HttpServer.addressWith((address) =>
      Effect.sync(() => process.send!({ port: address._tag === "TcpAddress" ? address.port : 0 }))
    ))),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  ))
})

/**
 * Seconds of load a sample: autocannon counts in whole seconds, and a sample shorter than a
 * few seconds measures the server's pauses (a PGlite query holds its event loop).
 */
const seconds = Math.max(3, Math.round(sampleMillis / 1_000))

/** `n` runs of `seconds` of load on `url` over 32 kept-alive connections, counting the requests answered. */
const load = (url: string) => {
  let answered = 0
  const run = fiberLoop(() =>
    Effect.flatMap(Effect.promise(() => autocannon({ url, connections: 32, duration: seconds })), (result) => {
      answered += result["2xx"]
      return result.errors + result.non2xx > 0
        ? Effect.dieMessage(`${url}: ${result.errors} errors (${result.timeouts} timeouts), ${result.non2xx} non-2xx answers`)
        : Effect.void
    })
  )
  return { run, meters: [counter("requests", "requests", () => answered)] }
}

const measureRoutes = Effect.gen(function*() {
  const child = fork(new URL(import.meta.url).pathname, ["--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  yield* Effect.addFinalizer(() => Effect.sync(() => child.send("exit")))
  const port = yield* Effect.async<number>((resume) => {
    child.once("message", (message) => resume(Effect.succeed((message as { port: number }).port)))
  })
  const base = `http://127.0.0.1:${port}`
  // PGlite answers one query at a time: the uncached route's last requests are still queued
  // when its sample ends. An uncached request of our own, answered after them, drains the queue.
  const drain = () => Effect.asVoid(Effect.promise(() => fetch(`${base}/uncached/7`).then((response) => response.text())))
  const route = (name: string) => ({ name, ...load(`${base}/${name}/7`), ops: 1, prepare: drain })
  const samples = yield* measure([route("cached"), route("static"), route("uncached")])
  compare(samples, [
    { name: "cached hit vs static handler", subject: "cached", baseline: "static", quantity: { of: "meter rate", meter: "requests", unit: "req/s" }, target: "≥ 0.85×" },
    { name: "cached hit vs uncached PGlite query", subject: "cached", baseline: "uncached", quantity: { of: "meter rate", meter: "requests", unit: "req/s" } }
  ])
})

if (process.argv.includes("--serve")) {
  process.once("message", () => process.exit(0))
  process.once("disconnect", () => process.exit(0)) // the measuring process ended without a word

  Effect.runPromise(server)
} else {
  main("cachefx HTTP response cache: requests per second of a cached hit", Effect.scoped(measureRoutes))
}
