import { CacheError, KeyConstructor, TestCache, Ttl } from "@cachefx/core"
import { RequestKeyField, ResponseCache, ResponseCacheSettings } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Stream, TestClock } from "effect"
import { counter, get, request, serve, served, ServerLive, statusOf } from "./support.js"

/** A handler that answers with how often it ran and the route's path parameters. */
const numbered = (calls: ReturnType<typeof counter>) =>
  Effect.flatMap(HttpRouter.params, (params) => HttpServerResponse.json({ n: calls.next(), params }))

const ByUser = KeyConstructor.make({
  namespace: "user",
  fields: [RequestKeyField.pathParams(["id"], { partition: true }), RequestKeyField.query("*", { hash: true })]
})

describe("ResponseCache.cached", () => {
  it.scoped("a hit serves the stored response without running the handler", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ headers: true })(
        Effect.sync(() => HttpServerResponse.text(`call ${calls.next()}`, { headers: { "x-app": "1" } }))
      )
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/hello", handler)))
      const first = yield* get("/hello")
      const second = yield* get("/hello")
      expect([first.status, statusOf(first), first.body]).toEqual([200, "MISS", "call 1"])
      expect([second.status, statusOf(second), second.body]).toEqual([200, "HIT", "call 1"])
      expect(second.headers["content-type"]).toBe("text/plain")
      expect(second.headers["x-app"]).toBe("1")
      expect(calls.count).toBe(1)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("query parameters partition entries, in any order", () =>
    Effect.gen(function*() {
      const calls = counter()
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/items", ResponseCache.cached()(numbered(calls)))))
      const a = yield* get("/items?page=1&size=10")
      const b = yield* get("/items?size=10&page=1")
      const c = yield* get("/items?page=2&size=10")
      const d = yield* get("/items?page=2&page=3&size=10")
      expect(a.body).toBe(b.body)
      expect(c.body).not.toBe(a.body)
      expect(d.body).not.toBe(c.body)
      expect(calls.count).toBe(3)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("path parameters partition entries; deletePartition wipes every query variant of one", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ key: ByUser })(numbered(calls))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/users/:id", handler)))
      yield* get("/users/1")
      yield* get("/users/1?tab=posts")
      yield* get("/users/2")
      expect(JSON.parse((yield* get("/users/2")).body)).toEqual({ n: 3, params: { id: "2" } })
      expect(calls.count).toBe(3)
      yield* handler.deletePartition(HttpServerRequest.fromWeb(new Request("http://x/users/1")), { id: "1" })
      yield* get("/users/1")
      yield* get("/users/1?tab=posts")
      yield* get("/users/2")
      expect(calls.count).toBe(5)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a middleware over a router keeps routes apart", () =>
    Effect.gen(function*() {
      const calls = counter()
      const cache = ResponseCache.middleware({ headers: true })
      yield* serve(HttpRouter.empty.pipe(
        HttpRouter.get("/users/:id", numbered(calls)),
        HttpRouter.get("/users/:id/posts", numbered(calls)),
        HttpRouter.use(cache)
      ))
      const user = yield* get("/users/1")
      const posts = yield* get("/users/1/posts")
      expect(user.body).not.toBe(posts.body)
      expect(statusOf(yield* get("/users/1/posts"))).toBe("HIT")
      expect(calls.count).toBe(2)
      yield* cache.invalidateAll
      expect(statusOf(yield* get("/users/1"))).toBe("MISS")
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("only GET and HEAD are cached; HEAD is answered from the GET entry, and never fills it", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ headers: true })(numbered(calls))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/a", handler), HttpRouter.post("/a", handler)))
      const head = yield* request("HEAD", "/a")
      expect([head.status, statusOf(head), head.body]).toEqual([200, "BYPASS", ""])
      yield* get("/a")
      const hit = yield* get("/a")
      expect([statusOf(hit), JSON.parse(hit.body).n]).toEqual(["HIT", 2])
      const headHit = yield* request("HEAD", "/a")
      expect([statusOf(headHit), headHit.body, headHit.headers["content-length"]]).toEqual(["HIT", "", String(hit.body.length)])
      const post = yield* request("POST", "/a")
      const again = yield* request("POST", "/a")
      expect([statusOf(post), JSON.parse(post.body).n, JSON.parse(again.body).n]).toEqual([undefined, 3, 4])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("cacheIf stores what it accepts, whatever the status; errors are not stored otherwise", () =>
    Effect.gen(function*() {
      const calls = counter()
      const missing = Effect.sync(() => HttpServerResponse.text(`gone ${calls.next()}`, { status: 404 }))
      yield* serve(HttpRouter.empty.pipe(
        HttpRouter.get("/plain", ResponseCache.cached({ headers: true })(missing)),
        HttpRouter.get("/if", ResponseCache.cached({ cacheIf: (r) => Effect.succeed(r.status === 404) })(missing))
      ))
      yield* get("/plain")
      const plain = yield* get("/plain")
      expect([plain.status, statusOf(plain), plain.body]).toEqual([404, "BYPASS", "gone 2"])
      yield* get("/if")
      expect((yield* get("/if")).body).toBe("gone 3")
      expect(calls.count).toBe(3)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("cacheUnless keeps what it rejects out", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({
        cacheUnless: (response) => Effect.succeed(response.headers["x-draft"] === "1")
      })(Effect.flatMap(HttpRouter.params, (params) =>
        Effect.sync(() => HttpServerResponse.text(`${calls.next()}`, { headers: { "x-draft": params.draft ?? "0" } }))
      ))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/doc/:draft", handler)))
      yield* get("/doc/1")
      yield* get("/doc/1")
      yield* get("/doc/0")
      yield* get("/doc/0")
      expect(calls.count).toBe(3)
    }).pipe(Effect.provide(ServerLive)))

  it("cacheIf and cacheUnless together are refused when the cache is made", () => {
    const both = { cacheIf: () => Effect.succeed(true), cacheUnless: () => Effect.succeed(false) }
    // @ts-expect-error cacheIf and cacheUnless exclude each other
    expect(() => ResponseCache.cached(both)).toThrow(CacheError.CacheDefinitionError)
  })

  it.scoped("headers: MISS, HIT with cached-at and reset-at, STALE, REFRESH, BYPASS", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const calls = counter()
      const handler = ResponseCache.cached({
        headers: true,
        ttl: Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "1 hour" })
      })(Effect.sync(() => HttpServerResponse.text(`${calls.next()}`)))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/t", handler)))
      const miss = yield* get("/t")
      expect(miss.headers).toMatchObject({
        "x-cache-status": "MISS",
        "x-cached-at": "2026-01-01T00:00:00.000Z",
        "x-cache-reset-at": "2026-01-01T00:01:00.000Z"
      })
      yield* TestClock.adjust("30 seconds")
      expect((yield* get("/t")).headers).toMatchObject({
        "x-cache-status": "HIT",
        "x-cached-at": "2026-01-01T00:00:00.000Z",
        "x-cache-reset-at": "2026-01-01T00:01:00.000Z"
      })
      yield* TestClock.adjust("1 minute")
      const stale = yield* get("/t")
      expect([statusOf(stale), stale.body]).toEqual(["STALE", "1"])
      const request = HttpServerRequest.fromWeb(new Request("http://x/t"))
      const refreshed = yield* handler.refresh(request)
      expect(refreshed.headers["x-cache-status"]).toBe("REFRESH")
      expect(refreshed.headers["x-cached-at"]).toBe("2026-01-01T00:01:30.000Z")
      const bypassed = yield* handler.bypass(request)
      expect([bypassed.headers["x-cache-status"], bypassed.headers["x-cached-at"]]).toEqual(["BYPASS", undefined])
      expect(calls.count).toBeGreaterThanOrEqual(3)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a soft delete serves the response STALE once while one refresh runs; without a stale window, a MISS", () =>
    Effect.gen(function*() {
      const calls = counter()
      const render = Effect.sync(() => HttpServerResponse.text(`${calls.next()}`))
      const swr = ResponseCache.cached({ headers: true, ttl: Ttl.staleWhileRevalidate({ fresh: "1 minute", stale: "1 hour" }) })(
        render
      )
      const plain = ResponseCache.cached({ headers: true, ttl: "1 minute" })(render)
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/swr", swr), HttpRouter.get("/plain", plain)))
      yield* get("/swr")
      yield* swr.delete(yield* served("/swr"), {}, { soft: true })
      const stale = yield* get("/swr")
      expect([statusOf(stale), stale.body]).toEqual(["STALE", "1"])
      // the refreshed response, once the background refresh has stored it
      const fresh = yield* get("/swr").pipe(
        Effect.filterOrFail((response) => statusOf(response) === "HIT"),
        Effect.retry({ times: 100 }) // each try is a real request: the refresh runs meanwhile (no TestClock sleep)
      )
      expect([statusOf(fresh), fresh.body]).toEqual(["HIT", "2"])
      yield* get("/plain")
      yield* plain.deletePartition(HttpServerRequest.fromWeb(new Request("http://x/plain")), {}, { soft: true })
      const missed = yield* get("/plain")
      expect([statusOf(missed), missed.body]).toEqual(["MISS", "4"])
      expect(calls.count).toBe(4)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("header names come from ResponseCacheSettings; no reset-at without a TTL", () =>
    Effect.gen(function*() {
      const handler = ResponseCache.cached({ headers: true, ttl: Ttl.forever })(HttpServerResponse.text("x"))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/s", handler)))
      yield* get("/s")
      const hit = yield* get("/s")
      expect(hit.headers["cache-status"]).toBe("HIT")
      expect(hit.headers["stored-at"]).toBe(new Date(0).toISOString())
      expect(Object.keys(hit.headers).filter((name) => name.startsWith("x-cache"))).toEqual([])
    }).pipe(
      Effect.provide(Layer.merge(
        ServerLive,
        ResponseCacheSettings.layer({ statusHeader: "Cache-Status", cachedAtHeader: "Stored-At" })
      ))
    ))

  it.scoped("a middleware request can bypass or refresh through the mode FiberRef", () =>
    Effect.gen(function*() {
      const calls = counter()
      yield* serve(HttpRouter.empty.pipe(
        HttpRouter.get("/m", numbered(calls)),
        HttpRouter.use(ResponseCache.middleware({ headers: true })),
        HttpRouter.use((app) =>
          Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
            request.headers["x-mode"] === "refresh" ? ResponseCache.withMode(app, "Refresh") : app)
        )
      ))
      yield* get("/m")
      const refreshed = yield* get("/m", { "x-mode": "refresh" })
      expect([statusOf(refreshed), JSON.parse(refreshed.body).n]).toEqual(["REFRESH", 2])
      const hit = yield* get("/m")
      expect([statusOf(hit), JSON.parse(hit.body).n]).toEqual(["HIT", 2])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("an ETag on stored responses, and 304 for a matching If-None-Match", () =>
    Effect.gen(function*() {
      const calls = counter()
      yield* serve(HttpRouter.empty.pipe(
        HttpRouter.get("/e", ResponseCache.cached({ headers: true })(Effect.sync(() => HttpServerResponse.text(`e${calls.next()}`)))),
        HttpRouter.get("/own", ResponseCache.cached()(HttpServerResponse.text("o", { headers: { etag: "\"v7\"" } })))
      ))
      const first = yield* get("/e")
      const etag = first.headers["etag"]!
      expect(etag).toMatch(/^"[\w-]{27}"$/)
      const revalidated = yield* get("/e", { "if-none-match": `W/${etag}, "other"` })
      expect([revalidated.status, revalidated.body, revalidated.headers["etag"], statusOf(revalidated)])
        .toEqual([304, "", etag, "HIT"])
      const changed = yield* get("/e", { "if-none-match": "\"other\"" })
      expect([changed.status, changed.body]).toEqual([200, "e1"])
      expect(calls.count).toBe(1)
      expect((yield* get("/own")).headers["etag"]).toBe("\"v7\"")
      expect((yield* get("/own", { "if-none-match": "\"v7\"" })).status).toBe(304)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("streaming bodies are served as they come, never stored", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ headers: true })(Effect.sync(() => {
        const n = calls.next()
        return HttpServerResponse.stream(Stream.make(`chunk ${n};`, "end").pipe(Stream.encodeText))
      }))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/stream", handler)))
      const first = yield* get("/stream")
      const second = yield* get("/stream")
      expect([first.body, second.body, statusOf(second)]).toEqual(["chunk 1;end", "chunk 2;end", "BYPASS"])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a response with Vary gets keys that hold the named request headers", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ headers: true })(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.sync(() =>
          HttpServerResponse.text(`${request.headers["accept-language"] ?? "en"} ${calls.next()}`, {
            headers: { vary: "Accept-Language" }
          })
        )))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/v", handler)))
      // the first response teaches the cache the Vary; it is not stored under a key without it
      expect(statusOf(yield* get("/v", { "accept-language": "fr" }))).toBe("BYPASS")
      expect((yield* get("/v", { "accept-language": "fr" })).body).toBe("fr 2")
      expect((yield* get("/v", { "accept-language": "de" })).body).toBe("de 3")
      expect((yield* get("/v", { "accept-language": "fr" })).body).toBe("fr 2")
      const de = yield* get("/v", { "accept-language": "de" })
      expect([statusOf(de), de.body]).toEqual(["HIT", "de 3"])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a middleware around a whole app keys by the request path", () =>
    Effect.gen(function*() {
      const calls = counter()
      const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.sync(() => HttpServerResponse.text(`${request.url} ${calls.next()}`)))
      yield* serve(ResponseCache.middleware({ headers: true })(app))
      yield* get("/a")
      yield* get("/b")
      const a = yield* get("/a")
      expect([statusOf(a), a.body, calls.count]).toEqual(["HIT", "/a 1", 2])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a failing store never fails a request: the handler answers", () =>
    Effect.gen(function*() {
      const calls = counter()
      yield* serve(HttpRouter.empty.pipe(
        HttpRouter.get("/f", ResponseCache.cached({ headers: true })(Effect.sync(() => HttpServerResponse.text(`${calls.next()}`))))
      ))
      const cache = yield* TestCache.TestCache
      yield* cache.failNext(1)
      const first = yield* get("/f")
      expect([first.status, first.body, statusOf(first)]).toEqual([200, "1", "MISS"])
      yield* get("/f")
      expect(statusOf(yield* get("/f"))).toBe("HIT")
    }).pipe(Effect.provide(Layer.merge(NodeHttpServer.layerTest, TestCache.layer()))))

  it.effect("management for a given request: keyFor, delete", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ key: ByUser })(numbered(calls))
      const request = HttpServerRequest.fromWeb(new Request("http://x/users/7?b=2&a=1"))
      const key = yield* handler.keyFor(request, { id: "7" })
      // the partition, the query, the host, the path, the learned Vary headers
      expect(key).toMatch(/^cachefx:user:1:7:#~[\w-]{22}:.+:\/users\/7:$/)
      expect(key).toContain("x")
      yield* handler.refresh(request, { id: "7" })
      yield* handler.delete(request, { id: "7" })
      const response = yield* handler.refresh(request, { id: "7" })
      expect(calls.count).toBe(2)
      expect(response.status).toBe(200)
    }).pipe(Effect.provide(ServerLive)))
})
