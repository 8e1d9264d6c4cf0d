import { KeyConstructor } from "@cachefx/core"
import { RequestKeyField, ResponseCache } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect } from "effect"
import { counter, get, serve, ServerLive, statusOf } from "./support.js"

class CurrentUser extends Context.Tag("test/CurrentUser")<CurrentUser, { readonly id: string }>() {}

/** Reads the caller from `x-user` (what an authentication middleware would do). */
const authenticate = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.provideService(app, CurrentUser, { id: request.headers["x-user"] ?? "anonymous" }))

/** Serves, at `/r`, a response built by `make` from the call number, cached with `options`. */
const serveResponse = (
  make: (n: number) => HttpServerResponse.HttpServerResponse,
  options: ResponseCache.Options<typeof ResponseCache.defaultKey> = {}
) => {
  const calls = counter()
  return Effect.as(
    serve(HttpRouter.empty.pipe(
      HttpRouter.get("/r", ResponseCache.cached({ headers: true, ...options })(Effect.sync(() => make(calls.next()))))
    )),
    calls
  )
}

/** Asks twice; gives whether the second answer came from the cache. */
const storedTwice = (headers: Record<string, string> = {}) =>
  Effect.map(Effect.zipRight(get("/r", headers), get("/r", headers)), (reply) => statusOf(reply) === "HIT")

describe("ResponseCache never shares one caller's response with another", () => {
  it.scoped("a response that sets a cookie is never stored, even when private responses are allowed", () =>
    Effect.gen(function*() {
      const calls = yield* serveResponse(
        (n) => HttpServerResponse.unsafeSetCookie(HttpServerResponse.text(`${n}`), "session", `s${n}`),
        { allowPrivate: true }
      )
      const first = yield* get("/r")
      const second = yield* get("/r")
      expect([first.headers["set-cookie"], second.headers["set-cookie"]]).toEqual(["session=s1", "session=s2"])
      expect(calls.count).toBe(2)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("Cache-Control: private is not stored without a user partition", () =>
    Effect.gen(function*() {
      yield* serveResponse((n) => HttpServerResponse.text(`${n}`, { headers: { "cache-control": "private" } }))
      expect(yield* storedTwice()).toBe(false)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("Cache-Control: no-store is never stored", () =>
    Effect.gen(function*() {
      yield* serveResponse((n) => HttpServerResponse.text(`${n}`, { headers: { "cache-control": "no-store" } }), {
        allowPrivate: true
      })
      expect(yield* storedTwice()).toBe(false)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a request that says Cache-Control: no-store is answered but not stored", () =>
    Effect.gen(function*() {
      yield* serveResponse((n) => HttpServerResponse.text(`${n}`))
      expect(yield* storedTwice({ "cache-control": "no-store" })).toBe(false)
      expect(yield* storedTwice()).toBe(true)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("responses to requests with Authorization or cookies are not stored without a user partition", () =>
    Effect.gen(function*() {
      yield* serveResponse((n) => HttpServerResponse.text(`${n}`))
      expect(yield* storedTwice({ authorization: "Bearer a" })).toBe(false)
      expect(yield* storedTwice({ cookie: "session=a" })).toBe(false)
      expect(yield* storedTwice()).toBe(true)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a response that says public is not stored for a request with credentials either", () =>
    Effect.gen(function*() {
      yield* serveResponse((n) => HttpServerResponse.text(`${n}`, { headers: { "cache-control": "public" } }))
      expect(yield* storedTwice({ authorization: "Bearer a" })).toBe(false)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("allowPrivate stores private responses and responses to authenticated requests", () =>
    Effect.gen(function*() {
      yield* serveResponse((n) => HttpServerResponse.text(`${n}`, { headers: { "cache-control": "private" } }), {
        allowPrivate: true
      })
      expect(yield* storedTwice({ authorization: "Bearer a" })).toBe(true)
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a user partition keeps each caller's private responses apart", () =>
    Effect.gen(function*() {
      const calls = counter()
      const timeline = ResponseCache.cached({
        headers: true,
        key: KeyConstructor.make({ namespace: "timeline", fields: [RequestKeyField.user(CurrentUser, (user) => user.id)] })
      })(Effect.flatMap(CurrentUser, (user) =>
        Effect.sync(() =>
          HttpServerResponse.text(`${user.id} ${calls.next()}`, { headers: { "cache-control": "private" } })
        )))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/timeline", timeline), HttpRouter.use(authenticate)))
      const ada = { authorization: "Bearer ada", "x-user": "ada" }
      const bob = { cookie: "session=bob", "x-user": "bob" }
      expect((yield* get("/timeline", ada)).body).toBe("ada 1")
      expect((yield* get("/timeline", bob)).body).toBe("bob 2")
      const adaAgain = yield* get("/timeline", ada)
      const bobAgain = yield* get("/timeline", bob)
      expect([statusOf(adaAgain), adaAgain.body, statusOf(bobAgain), bobAgain.body]).toEqual([
        "HIT", "ada 1", "HIT", "bob 2"
      ])
    }).pipe(Effect.provide(ServerLive)))

  it.scoped("a requestValue partition (a tenant) is not a user partition", () =>
    Effect.gen(function*() {
      const calls = counter()
      const page = ResponseCache.cached({
        headers: true,
        key: KeyConstructor.make({
          namespace: "tenant",
          fields: [RequestKeyField.requestValue(CurrentUser, () => "acme", { name: "tenant", partition: true })]
        })
      })(Effect.sync(() => HttpServerResponse.text(`${calls.next()}`, { headers: { "cache-control": "private" } })))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/r", page), HttpRouter.use(authenticate)))
      expect(yield* storedTwice({ "x-user": "ada" })).toBe(false)
    }).pipe(Effect.provide(ServerLive)))

  it.live("callers that join a computation whose response is not stored run the handler themselves", () =>
    Effect.gen(function*() {
      const calls = counter()
      const handler = ResponseCache.cached()(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.as(
          Effect.sleep("20 millis"),
          HttpServerResponse.text(`${request.headers["authorization"] ?? "anonymous"} ${calls.next()}`)
        )))
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/r", handler)))
      const [ada, anonymous] = yield* Effect.all([
        get("/r", { authorization: "ada" }),
        Effect.zipRight(Effect.sleep("5 millis"), get("/r"))
      ], { concurrency: 2 })
      expect(ada.body).toMatch(/^ada /)
      expect(anonymous.body).toMatch(/^anonymous /)
      expect(calls.count).toBe(2)
    }).pipe(Effect.provide(ServerLive), Effect.scoped))
})
