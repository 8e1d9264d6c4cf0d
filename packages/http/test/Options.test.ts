/**
 * The options issue 17 added: `privateHeaders`, `RequestKeyField.body`,
 * `requestDirectives`, and the `Age` of a response with explicit freshness.
 */
import { CacheError, KeyConstructor } from "@cachefx/core"
import { RequestKeyField, ResponseCache } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, TestClock } from "effect"
import { counter, raw, serve, ServerLive, statusOf } from "./support.js"

/** Serves `/r`: the call number and the request body, cached with `options`. */
const serveCounted = (options: ResponseCache.Options<KeyConstructor.KeyConstructor.Any> = {}, headers = {}) => {
  const calls = counter()
  const handler = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.flatMap(Effect.orDie(request.text), (body) =>
      Effect.sync(() => HttpServerResponse.text(`${calls.next()} ${body}`, { headers }))))
  return Effect.as(serve(HttpRouter.empty.pipe(HttpRouter.get("/r", ResponseCache.cached({ headers: true, ...options })(handler)))), calls)
}

describe("privateHeaders", () => {
  it.scoped("a request with a named header (any case) is answered by the handler alone", () =>
    Effect.gen(function*() {
      yield* serveCounted({ privateHeaders: ["X-Tenant-Token"] })
      yield* raw("GET", "/r", { "x-tenant-token": "t1" })
      const again = yield* raw("GET", "/r", { "X-TENANT-TOKEN": "t1" })
      const anonymous = yield* raw("GET", "/r")
      expect([statusOf(again), again.body, statusOf(anonymous), anonymous.body]).toEqual(["BYPASS", "2 ", "MISS", "3 "])
    }).pipe(Effect.provide(ServerLive)))
})

describe("RequestKeyField.body", () => {
  const search = KeyConstructor.make({ namespace: "search", fields: [RequestKeyField.body({ maxBytes: 16 })] })

  it.scoped("a key that reads the body caches GETs with a body, one entry per body; the handler reads it again", () =>
    Effect.gen(function*() {
      const calls = yield* serveCounted({ key: search })
      const alice = yield* raw("GET", "/r", {}, "alice")
      const bob = yield* raw("GET", "/r", {}, "bob")
      const aliceAgain = yield* raw("GET", "/r", {}, "alice")
      expect([alice.body, bob.body, statusOf(aliceAgain), aliceAgain.body]).toEqual(["1 alice", "2 bob", "HIT", "1 alice"])
      expect(calls.count).toBe(2)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a body over maxBytes, chunked, or not UTF-8 is answered by the handler alone", () =>
    Effect.gen(function*() {
      yield* serveCounted({ key: search })
      const long = "x".repeat(17)
      yield* raw("GET", "/r", {}, long)
      expect(statusOf(yield* raw("GET", "/r", {}, long))).toBe("BYPASS")
      const chunked = yield* raw("GET", "/r", { "transfer-encoding": "chunked" }, "alice")
      expect(statusOf(chunked)).toBe("BYPASS")
      const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]) // "café" in Latin-1: not UTF-8
      yield* raw("GET", "/r", {}, latin1)
      expect(statusOf(yield* raw("GET", "/r", {}, latin1))).toBe("BYPASS")
    }).pipe(Effect.provide(ServerLive)))

  it("maxBytes must be a positive whole number", () => {
    expect(() => RequestKeyField.body({ maxBytes: 0 })).toThrow(CacheError.CacheDefinitionError)
    expect(() => RequestKeyField.body({ maxBytes: 1.5 })).toThrow(CacheError.CacheDefinitionError)
  })
})

describe("requestDirectives", () => {
  it.scoped("ignore (the default): a client's no-cache or max-age=0 cannot make the handler run again", () =>
    Effect.gen(function*() {
      const calls = yield* serveCounted()
      yield* raw("GET", "/r")
      const noCache = yield* raw("GET", "/r", { "cache-control": "no-cache", pragma: "no-cache" })
      const maxAge = yield* raw("GET", "/r", { "cache-control": "max-age=0" })
      expect([statusOf(noCache), statusOf(maxAge), calls.count]).toEqual(["HIT", "HIT", 1])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("honor: no-cache and max-age=0 recompute and store; max-age=N and min-fresh=N refuse older entries", () =>
    Effect.gen(function*() {
      yield* serveCounted({ requestDirectives: "honor", ttl: "1 minute" })
      yield* raw("GET", "/r")
      const noCache = yield* raw("GET", "/r", { "cache-control": "no-cache" })
      expect([statusOf(noCache), noCache.body]).toEqual(["REFRESH", "2 "])
      expect((yield* raw("GET", "/r")).body).toBe("2 ")
      expect(statusOf(yield* raw("GET", "/r", { pragma: "no-cache" }))).toBe("REFRESH")
      yield* TestClock.adjust("20 seconds")
      expect(statusOf(yield* raw("GET", "/r", { "cache-control": "max-age=30" }))).toBe("HIT")
      expect(statusOf(yield* raw("GET", "/r", { "cache-control": "max-age=10" }))).toBe("REFRESH")
      // refreshed at 20 s, fresh until 80 s: at 50 s, 30 s are left
      yield* TestClock.adjust("30 seconds")
      expect(statusOf(yield* raw("GET", "/r", { "cache-control": "min-fresh=20" }))).toBe("HIT")
      expect(statusOf(yield* raw("GET", "/r", { "cache-control": "min-fresh=40" }))).toBe("REFRESH")
    }).pipe(Effect.provide(ServerLive)))

  it("any other value is refused when the cache is made", () => {
    const options = { requestDirectives: "obey" } as unknown as ResponseCache.Options<typeof ResponseCache.defaultKey>
    expect(() => ResponseCache.cached(options)).toThrow(CacheError.CacheDefinitionError)
  })
})

describe("Age", () => {
  it.scoped("a hit on a response with explicit freshness says how old it is, counting the Age it came with", () =>
    Effect.gen(function*() {
      yield* serveCounted({}, { "cache-control": "max-age=100", age: "5" })
      yield* raw("GET", "/r")
      yield* TestClock.adjust("30 seconds")
      const hit = yield* raw("GET", "/r")
      expect([statusOf(hit), hit.headers["age"]]).toEqual(["HIT", "35"])
      yield* TestClock.adjust("66 seconds")
      expect(statusOf(yield* raw("GET", "/r"))).toBe("MISS")
    }).pipe(Effect.provide(ServerLive)))
})

describe("hostile or careless responses", () => {
  it.scoped("a Vary that lists * among other names is never stored", () =>
    Effect.gen(function*() {
      yield* serveCounted({}, { vary: "Accept, *" })
      yield* raw("GET", "/r")
      expect(statusOf(yield* raw("GET", "/r"))).toBe("BYPASS")
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a Cache-Control that gives max-age twice with different values is not trusted", () =>
    Effect.gen(function*() {
      yield* serveCounted({}, { "cache-control": "max-age=5, max-age=500" })
      yield* raw("GET", "/r")
      expect(statusOf(yield* raw("GET", "/r"))).toBe("BYPASS")
    }).pipe(Effect.provide(ServerLive)))
})
