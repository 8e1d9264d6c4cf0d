/**
 * The six findings of issue 17 (an attack on the response cache with legal requests and
 * responses), one `describe` each: every test here failed before the fix.
 */
import { ResponseCache } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Data, Effect, TestClock } from "effect"
import { counter, raw, serve, ServerLive, statusOf } from "./support.js"

/** A page that answers `HEAD` with an empty body, as a handler that checks the method may. */
const pageOrHead = (calls: ReturnType<typeof counter>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.sync(() =>
      request.method === "HEAD"
        ? HttpServerResponse.empty({ headers: { "content-type": "text/plain" } })
        : HttpServerResponse.text(`page ${calls.next()}`)
    ))

/** `HEAD` first, then two `GET`s: both must have the page. */
const headThenGets = Effect.gen(function*() {
  yield* raw("HEAD", "/h")
  const first = yield* raw("GET", "/h")
  const second = yield* raw("GET", "/h")
  return [first.body, second.body]
})

describe("finding 1: HEAD never fills the GET entry", () => {
  for (const [name, route] of [["HttpRouter.get", HttpRouter.get], ["HttpRouter.all", HttpRouter.all]] as const) {
    it.scoped(`${name}: a HEAD answered with an empty body is not served to GET`, () =>
      Effect.gen(function*() {
        const calls = counter()
        yield* serve(HttpRouter.empty.pipe(route("/h", ResponseCache.cached({ headers: true })(pageOrHead(calls)))))
        expect(yield* headThenGets).toEqual(["page 1", "page 1"])
      }).pipe(Effect.provide(ServerLive)))
  }

  it.scoped("a middleware over separate get and head routes: the same", () =>
    Effect.gen(function*() {
      const calls = counter()
      yield* serve(HttpRouter.empty.pipe(
        HttpRouter.get("/h", Effect.sync(() => HttpServerResponse.text(`page ${calls.next()}`))),
        HttpRouter.head("/h", HttpServerResponse.empty()),
        HttpRouter.use(ResponseCache.middleware({ headers: true }))
      ))
      expect(yield* headThenGets).toEqual(["page 1", "page 1"])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a HEAD is answered from a stored GET: its status and headers, no body", () =>
    Effect.gen(function*() {
      const calls = counter()
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/h", ResponseCache.cached({ headers: true })(pageOrHead(calls)))))
      const get = yield* raw("GET", "/h")
      const head = yield* raw("HEAD", "/h")
      expect([statusOf(head), head.status, head.body, head.headers["etag"], head.headers["content-length"]])
        .toEqual(["HIT", 200, "", get.headers["etag"], "6"])
      expect(calls.count).toBe(1)
    }).pipe(Effect.provide(ServerLive)))
})

describe("finding 2: a response to a request with credentials is never shared", () => {
  /** `/me` greets the caller its `Authorization` names, with the given `Cache-Control`. */
  const serveGreeting = (control: string) =>
    serve(HttpRouter.empty.pipe(HttpRouter.get(
      "/me",
      ResponseCache.cached({ headers: true })(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        HttpServerResponse.text(`hello ${request.headers["authorization"] ?? "anonymous"}`, {
          headers: { "cache-control": control }
        })))
    )))

  it.scoped("Cache-Control: must-revalidate on Alice's authenticated response reaches neither Bob nor anonymous", () =>
    Effect.gen(function*() {
      yield* serveGreeting("must-revalidate")
      yield* raw("GET", "/me", { authorization: "alice" })
      const bob = yield* raw("GET", "/me", { authorization: "bob" })
      const anonymous = yield* raw("GET", "/me")
      expect([bob.body, anonymous.body]).toEqual(["hello bob", "hello anonymous"])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("public, s-maxage: the same (a request with credentials is never stored without a user partition)", () =>
    Effect.gen(function*() {
      yield* serveGreeting("public, s-maxage=600")
      yield* raw("GET", "/me", { authorization: "alice" })
      yield* raw("GET", "/me", { authorization: "alice" })
      expect((yield* raw("GET", "/me")).body).toBe("hello anonymous")
    }).pipe(Effect.provide(ServerLive)))
})

class TokenRevoked extends Data.TaggedError("TokenRevoked")<{ readonly who: string }> {}

describe("finding 3: a failure reaches only its own request", () => {
  it.live("an anonymous request arriving during an authenticated one that fails gets its own answer", () =>
    Effect.gen(function*() {
      const handler = ResponseCache.cached({ headers: true })(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const who = request.headers["authorization"]
        return who === undefined
          ? HttpServerResponse.text("public page")
          : Effect.zipRight(Effect.sleep("150 millis"), Effect.fail(new TokenRevoked({ who })))
      }))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get(
        "/r",
        Effect.catchTag(handler, "TokenRevoked", (error) =>
          HttpServerResponse.text(`token revoked for ${error.who}`, { status: 401 }))
      )))
      const [alice, anonymous] = yield* Effect.all([
        raw("GET", "/r", { authorization: "alice@example.com" }),
        Effect.zipRight(Effect.sleep("30 millis"), raw("GET", "/r"))
      ], { concurrency: 2 })
      expect([alice.status, alice.body]).toEqual([401, "token revoked for alice@example.com"])
      expect([anonymous.status, anonymous.body]).toEqual([200, "public page"])
    }).pipe(Effect.provide(ServerLive), Effect.scoped))

  it.live("between callers that may share: a request that joined a failed computation runs its own", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached({ headers: true })(Effect.suspend(() => {
        const n = calls.next()
        return Effect.zipRight(
          Effect.sleep("150 millis"),
          n === 1 ? Effect.fail(new TokenRevoked({ who: "first" })) : HttpServerResponse.text(`call ${n}`)
        )
      }))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get(
        "/r",
        Effect.catchTag(handler, "TokenRevoked", (error) => HttpServerResponse.text(`failed for ${error.who}`, { status: 500 }))
      )))
      const [first, second] = yield* Effect.all([
        raw("GET", "/r"),
        Effect.zipRight(Effect.sleep("30 millis"), raw("GET", "/r"))
      ], { concurrency: 2 })
      expect([first.status, second.status, second.body]).toEqual([500, 200, "call 2"])
    }).pipe(Effect.provide(ServerLive), Effect.scoped))
})

/** Serves a response with the given headers, numbered per call; gives the second answer's body. */
const servedTwice = (headers: Record<string, string>) =>
  Effect.gen(function*() {
    const calls = counter()
    yield* serve(HttpRouter.empty.pipe(HttpRouter.get(
      "/f",
      ResponseCache.cached({ headers: true })(Effect.sync(() => HttpServerResponse.text(`call ${calls.next()}`, { headers })))
    )))
    yield* raw("GET", "/f")
    return (yield* raw("GET", "/f")).body
  })

describe("finding 4: the response's own freshness decides", () => {
  for (
    const [name, headers] of [
      ["no-cache", { "cache-control": "no-cache" }],
      ["max-age=0", { "cache-control": "max-age=0" }],
      ["s-maxage=0 (with max-age=600)", { "cache-control": "max-age=600, s-maxage=0" }],
      ["an Expires in the past", { expires: "Thu, 01 Jan 2015 00:00:00 GMT" }],
      ["must-revalidate without explicit freshness", { "cache-control": "must-revalidate" }],
      ["must-revalidate (http-cache-semantics never reuses it unrevalidated)", { "cache-control": "must-revalidate, max-age=60" }],
      ["proxy-revalidate without explicit freshness", { "cache-control": "proxy-revalidate" }]
    ] as const
  ) {
    it.scoped(`a response with ${name} is not stored`, () =>
      Effect.gen(function*() {
        expect(yield* servedTwice(headers)).toBe("call 2")
      }).pipe(Effect.provide(ServerLive)))
  }

  it.scoped("max-age caps the configured TTL", () =>
    Effect.gen(function*() {
      const calls = counter()
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get(
        "/f",
        ResponseCache.cached({ headers: true, ttl: "1 hour" })(
          Effect.sync(() => HttpServerResponse.text(`call ${calls.next()}`, { headers: { "cache-control": "max-age=10" } }))
        )
      )))
      yield* raw("GET", "/f")
      yield* TestClock.adjust("9 seconds")
      expect((yield* raw("GET", "/f")).body).toBe("call 1")
      yield* TestClock.adjust("2 seconds")
      expect((yield* raw("GET", "/f")).body).toBe("call 2")
    }).pipe(Effect.provide(ServerLive)))
})

describe("finding 5: host and scheme are in the key", () => {
  /** A login link built from the host and scheme the request says it came through. */
  const login = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const host = request.headers["x-forwarded-host"] ?? request.headers["host"]
    const scheme = request.headers["x-forwarded-proto"] ?? "http"
    return HttpServerResponse.text(`${scheme}://${host}/login`)
  })

  it.scoped("X-Forwarded-Host and X-Forwarded-Proto from one caller never reach the next", () =>
    Effect.gen(function*() {
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/l", ResponseCache.cached({ headers: true })(login))))
      yield* raw("GET", "/l", { host: "shop.example", "x-forwarded-host": "evil.example" })
      yield* raw("GET", "/l", { host: "shop.example", "x-forwarded-proto": "gopher" })
      const honest = yield* raw("GET", "/l", { host: "shop.example" })
      expect(honest.body).toBe("http://shop.example/login")
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("two virtual hosts never share an entry", () =>
    Effect.gen(function*() {
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/l", ResponseCache.cached({ headers: true })(login))))
      yield* raw("GET", "/l", { host: "a.example" })
      expect((yield* raw("GET", "/l", { host: "b.example" })).body).toBe("http://b.example/login")
      expect(statusOf(yield* raw("GET", "/l", { host: "a.example" }))).toBe("HIT")
    }).pipe(Effect.provide(ServerLive)))
})

describe("finding 6: other credentials, and GET bodies", () => {
  const whoAmI = ResponseCache.cached({ headers: true })(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    HttpServerResponse.text(
      `data of ${request.headers["x-api-key"] ?? request.headers["proxy-authorization"] ?? "anonymous"}`
    )))

  for (const header of ["x-api-key", "proxy-authorization"]) {
    it.scoped(`${header}: an anonymous caller never gets Alice's data`, () =>
      Effect.gen(function*() {
        yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/d", whoAmI)))
        yield* raw("GET", "/d", { [header]: "alice" })
        yield* raw("GET", "/d", { [header]: "alice" })
        expect((yield* raw("GET", "/d")).body).toBe("data of anonymous")
      }).pipe(Effect.provide(ServerLive)))
  }

  it.scoped("a GET with a body is not cached without a key field that reads the body", () =>
    Effect.gen(function*() {
      const search = ResponseCache.cached({ headers: true })(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.flatMap(Effect.orDie(request.text), (body) => HttpServerResponse.text(`results for ${body}`))))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/search", search)))
      yield* raw("GET", "/search", { "content-type": "text/plain" }, "alice's query")
      const bob = yield* raw("GET", "/search", { "content-type": "text/plain" }, "bob's query")
      expect(bob.body).toBe("results for bob's query")
    }).pipe(Effect.provide(ServerLive)))
})
