import { Invalidation, InvalidationEngine, InvalidationEvent, InvalidationRule, KeyConstructor } from "@cachefx/core"
import { RequestKeyField, ResponseCache } from "@cachefx/http"
import { describe, expect, it } from "@effect/vitest"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Exit, Layer } from "effect"
import { counter, get, serve, ServerLive, statusOf } from "./support.js"

class CurrentUser extends Context.Tag("test/CurrentUser")<CurrentUser, { readonly id: number }>() {}

const calls = counter()

/** `/users/:id`: partitioned by the `id` path parameter, which the rule maps from `users.id`. */
const getUser = ResponseCache.cached({
  headers: true,
  key: KeyConstructor.make({
    namespace: "user",
    fields: [RequestKeyField.pathParams(["id"], { partition: true }), RequestKeyField.query("*", { hash: true })]
  }),
  invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
})(Effect.flatMap(HttpRouter.params, (params) => HttpServerResponse.json({ id: params.id, n: calls.next() })))

/** `/timeline`: per caller; the rule maps `posts.author_id` to the user field's input. */
const getTimeline = ResponseCache.cached({
  headers: true,
  key: KeyConstructor.make({ namespace: "timeline", fields: [RequestKeyField.user(CurrentUser, (user) => user.id)] }),
  invalidatesOn: [InvalidationRule.make({ table: "posts", fieldMapping: { user: "author_id" } })]
})(Effect.flatMap(CurrentUser, (user) => HttpServerResponse.json({ user: user.id, n: calls.next() })))

const authenticate = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.provideService(app, CurrentUser, { id: Number(request.headers["x-user"]) }))

const router = HttpRouter.empty.pipe(
  HttpRouter.get("/users/:id", getUser),
  HttpRouter.get("/timeline", getTimeline),
  HttpRouter.use(authenticate)
)

const Live = InvalidationEngine.layer({ caches: [getUser.cache, getTimeline.cache] }).pipe(Layer.provideMerge(ServerLive))

const statuses = (...paths: ReadonlyArray<readonly [string, Record<string, string>?]>) =>
  Effect.forEach(paths, ([path, headers]) => Effect.map(get(path, headers), statusOf))

describe("ResponseCache invalidation", () => {
  it.scoped("a rule mapped from a path parameter wipes that partition, every query variant, and nothing else", () =>
    Effect.gen(function*() {
      yield* serve(router)
      yield* statuses(["/users/1"], ["/users/1?tab=posts"], ["/users/2"])
      expect(yield* statuses(["/users/1"], ["/users/1?tab=posts"], ["/users/2"])).toEqual(["HIT", "HIT", "HIT"])
      yield* Invalidation.publish(
        InvalidationEvent.make({ table: "users", operation: "update", rows: [{ id: 1, name: "Ada" }], changed: ["name"] })
      )
      expect(yield* statuses(["/users/1"], ["/users/1?tab=posts"], ["/users/2"])).toEqual(["MISS", "MISS", "HIT"])
    }).pipe(Effect.provide(Live)))

  it.scoped("a rule mapped to a user field wipes that caller's responses only", () =>
    Effect.gen(function*() {
      yield* serve(router)
      const ada = { "x-user": "1", authorization: "Bearer ada" }
      const bob = { "x-user": "2", authorization: "Bearer bob" }
      yield* statuses(["/timeline", ada], ["/timeline", bob])
      expect(yield* statuses(["/timeline", ada], ["/timeline", bob])).toEqual(["HIT", "HIT"])
      yield* Invalidation.publish(
        InvalidationEvent.make({ table: "posts", operation: "insert", rows: [{ id: 10, author_id: 2 }] })
      )
      expect(yield* statuses(["/timeline", ada], ["/timeline", bob])).toEqual(["HIT", "MISS"])
    }).pipe(Effect.provide(Live)))

  it.scoped("with all path parameters (\"*\") in the key, a rule wipes the namespace", () => {
    const open = ResponseCache.cached({
      headers: true,
      invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
    })(HttpServerResponse.text("x"))
    return Effect.gen(function*() {
      yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/u/:id", open)))
      yield* statuses(["/u/1"], ["/u/2"])
      yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "delete", rows: [{ id: 1 }] }))
      expect(yield* statuses(["/u/1"], ["/u/2"])).toEqual(["MISS", "MISS"])
    }).pipe(Effect.provide(InvalidationEngine.layer({ caches: [open.cache] }).pipe(Layer.provideMerge(ServerLive))))
  })

  it.effect("a rule that maps an input the key does not read fails when the engine is built", () =>
    Effect.gen(function*() {
      const bad = ResponseCache.cached({
        key: KeyConstructor.make({ namespace: "b", fields: [RequestKeyField.pathParams(["id"], { partition: true })] }),
        invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { userId: "id" } })]
      })(HttpServerResponse.text("x"))
      const exit = yield* Effect.exit(Layer.build(InvalidationEngine.layer({ caches: [bad.cache] })).pipe(Effect.scoped))
      expect(Exit.isFailure(exit)).toBe(true)
    }).pipe(Effect.provide(ServerLive)))
})
