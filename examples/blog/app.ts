/**
 * The blog API as a layer over a database the caller opens (`Database.open`: PGlite, or
 * PostgreSQL): it creates and seeds the tables, builds the invalidation engine (the
 * memory store, a `pool` dispatcher for the rewarm rule), instruments the database for
 * writes, and serves the routes on `port` (0: a free one; the `HttpServer` it provides
 * tells which).
 */
import { CacheStore, Dispatcher, InvalidationEngine } from "@cachefx/core"
import { DrizzleHooks } from "@cachefx/drizzle"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { caches } from "./caches.js"
import { Reader, Writer } from "./database.js"
import { router } from "./routes.js"
import { type BlogDatabase, setup } from "./schema.js"

export interface Options {
  /** Default 0: any free port. */
  readonly port?: number | undefined
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
}

export const layer = (db: BlogDatabase, options: Options = {}) => {
  // reads start once the tables exist
  const ReaderLive = Layer.effect(Reader, Effect.as(Effect.promise(() => setup(db)), db))
  // the engine keeps the Reader: rewarms recompute posts with it
  const EngineLive = InvalidationEngine.layer({ caches }).pipe(
    Layer.provide(Dispatcher.layerPool({ concurrency: 2 })),
    Layer.provideMerge(CacheStore.layerMemory()),
    Layer.provideMerge(ReaderLive)
  )
  const WriterLive = Layer.effect(Writer, DrizzleHooks.instrument(db, { caches }))
  return HttpServer.serve(router).pipe(
    Layer.provide(WriterLive),
    Layer.provide(EngineLive),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port ?? 0, host: options.host ?? "127.0.0.1" }))
  )
}
