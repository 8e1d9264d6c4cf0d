import { CacheStore } from "@cachefx/core"
import { ResponseCache } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { counter, raw, statusOf } from "./support.js"

const Api = HttpApi.make("shop").add(
  HttpApiGroup.make("items").add(
    HttpApiEndpoint.get("item", "/items/:id")
      .setPath(Schema.Struct({ id: Schema.NumberFromString }))
      .addSuccess(Schema.Struct({ id: Schema.Number, n: Schema.Number }))
  )
)

const calls = counter()

const ItemsLive = HttpApiBuilder.group(Api, "items", (handlers) =>
  handlers.handle("item", ({ path }) => Effect.sync(() => ({ id: path.id, n: calls.next() }))))

const cache = ResponseCache.middleware({ headers: true })

/** The API served with the cache as an `HttpApiBuilder.middleware`, on a real server. */
const ServerLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.middleware(cache.httpApi, { withContext: true })),
  Layer.provide(HttpApiBuilder.api(Api).pipe(Layer.provide(ItemsLive))),
  Layer.provide(CacheStore.layerMemory()),
  Layer.provideMerge(NodeHttpServer.layerTest)
)

describe("ResponseCache.middleware with HttpApiBuilder", () => {
  it.scoped("MISS then HIT, both with X-Cache-Status and the same ETag; 304 on If-None-Match", () =>
    Effect.gen(function*() {
      const miss = yield* raw("GET", "/items/7")
      const hit = yield* raw("GET", "/items/7")
      expect([miss.status, statusOf(miss), JSON.parse(miss.body)]).toEqual([200, "MISS", { id: 7, n: 1 }])
      expect(miss.headers["etag"]).toMatch(/^"[\w-]{27}"$/)
      expect([statusOf(hit), hit.body, hit.headers["etag"]]).toEqual(["HIT", miss.body, miss.headers["etag"]])
      const notModified = yield* raw("GET", "/items/7", { "if-none-match": miss.headers["etag"]! })
      expect(notModified.status).toBe(304)
      const other = yield* raw("GET", "/items/8")
      expect([statusOf(other), JSON.parse(other.body)]).toEqual(["MISS", { id: 8, n: 2 }])
      expect(calls.count).toBe(2)
    }).pipe(Effect.provide(ServerLive)))
})
