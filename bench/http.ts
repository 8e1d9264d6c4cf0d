/**
 * `@cachefx/http`: requests per second of a cached hit, on one server, against
 * - a static handler (the same JSON body, built once; target ≥ 0.85×), and
 * - the uncached handler, which runs a real SQL query on PGlite (Postgres in WASM,
 *   in process): the 20 newest of 50,000 posts of one author, without an index.
 *
 * The server runs in a child process (one core), autocannon in this one (the other),
 * on loopback only, for a fixed duration per route.
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
import { loadavg } from "node:os"
import { machine, median } from "./harness.js"
import { record } from "./results.js"

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

const rounds = 3
const seconds = 4

/** Requests per second against one URL: connections kept alive, bounded duration. */
const load = (url: string, duration: number) =>
  Effect.promise(() => autocannon({ url, connections: 32, duration }))

const measure = Effect.gen(function*() {
  console.log(`cachefx http benchmark on ${machine()}, load average ${loadavg()[0]!.toFixed(1)}`)
  const child = fork(new URL(import.meta.url).pathname, ["--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  yield* Effect.addFinalizer(() => Effect.sync(() => child.send("exit")))
  const port = yield* Effect.async<number>((resume) => {
    child.once("message", (message) => resume(Effect.succeed((message as { port: number }).port)))
  })
  const base = `http://127.0.0.1:${port}`
  // `--hit-only`: no PGlite route, whose queued queries (they run on the server's one
  // thread) would stall the next route's round on a loaded machine
  const routes = process.argv.includes("--hit-only") ? ["static", "cached"] as const : ["static", "cached", "uncached"] as const
  const samples: Record<string, Array<number>> = { static: [], cached: [], uncached: [] }
  for (const route of routes) {
    yield* load(`${base}/${route}/7`, 2) // warm up
  }
  // rounds interleave the routes, so a burst of other work on the machine hits all of them
  for (let round = 0; round < rounds; round++) {
    for (const route of routes) {
      const result = yield* load(`${base}/${route}/7`, seconds)
      if (result.errors + result.non2xx > 0) {
        return yield* Effect.dieMessage(`${route}: ${result.errors} errors, ${result.non2xx} non-2xx answers`)
      }
      samples[route]!.push(result.requests.average)
    }
  }
  const rates = Object.fromEntries(routes.map((route) => [route, median(samples[route]!)]))
  for (const route of routes) {
    console.log(`${route.padEnd(10)} ${rates[route]!.toFixed(0).padStart(7)} req/s (median of ${rounds} × ${seconds} s)`)
  }
  console.log(`cached hit / static handler:   ${(rates.cached! / rates.static!).toFixed(2)}× (target ≥ 0.85×)`)
  const cachedHit = { name: "cached hit", unit: "req/s", cachefx: rates.cached! }
  record({ ...cachedHit, baselineName: "static handler", baseline: rates.static!, target: "≥ 0.85×" })
  if (rates.uncached !== undefined) {
    console.log(`cached hit / uncached (PGlite): ${(rates.cached! / rates.uncached).toFixed(2)}×`)
    record({ ...cachedHit, baselineName: "uncached PGlite query", baseline: rates.uncached })
  }
})

if (process.argv.includes("--serve")) {
  process.once("message", () => process.exit(0))
  Effect.runPromise(server)
} else {
  Effect.runPromise(Effect.scoped(measure))
}
