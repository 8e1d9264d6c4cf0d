import { describe, expect, it } from "@effect/vitest"
import { Cached, KeyConstructor, KeyField, TestCache } from "@cachefx/core"
import { Deferred, Effect, Fiber, Option } from "effect"
import { describeOp } from "./posts.js"

const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id", { partition: true })] })

/** A cached value on `Users` whose first computation waits for `release`. */
const gated = (name: string) =>
  Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    let calls = 0
    const fn = Cached.cached({ key: Users, name })((input: { readonly id: number }) =>
      Effect.suspend(() => {
        const n = ++calls
        const value = `${name} ${input.id}#${n}`
        return n === 1 ? Effect.zipRight(Deferred.succeed(started, void 0), Effect.as(Deferred.await(release), value)) : Effect.succeed(value)
      })
    )
    return { fn, started, release }
  })

describe("KeyConstructor.invalidateAll", () => {
  it.effect("wipes the entries of every cached value on the constructor: one namespace invalidation per cached value", () =>
    Effect.gen(function*() {
      const cache = yield* TestCache.TestCache
      const user = Cached.cached({ key: Users })((input: { readonly id: number }) => Effect.succeed(input.id))
      const profile = Cached.cached({ key: Users, name: "profile" })((input: { readonly id: number }) => Effect.succeed(`#${input.id}`))
      yield* Effect.all([user({ id: 1 }), user({ id: 2 }), profile({ id: 1 })])
      yield* cache.clearLog
      yield* KeyConstructor.invalidateAll(Users)
      expect((yield* cache.log).map(describeOp).sort()).toEqual([
        "invalidate namespace cachefx:users",
        "invalidate namespace cachefx:users:#@profile"
      ])
      const left: ReadonlyArray<Option.Option<unknown>> = yield* Effect.all([user.peek({ id: 1 }), user.peek({ id: 2 }), profile.peek({ id: 1 })])
      expect(left.every(Option.isNone)).toBe(true)
    }).pipe(Effect.provide(TestCache.layer())))

  it.effect("detaches the computations under way of every cached value on it, and drops their fills", () =>
    Effect.gen(function*() {
      const a = yield* gated("a")
      const b = yield* gated("b")
      const early = yield* Effect.fork(Effect.all([a.fn({ id: 1 }), b.fn({ id: 1 })], { concurrency: 2 }))
      yield* Effect.all([Deferred.await(a.started), Deferred.await(b.started)])
      // the constructor's wipe detaches the computations of every cached value on it
      yield* KeyConstructor.invalidateAll(Users)
      const late = yield* Effect.fork(Effect.all([a.fn({ id: 1 }), b.fn({ id: 1 })], { concurrency: 2 }))
      yield* Effect.all([Deferred.succeed(a.release, void 0), Deferred.succeed(b.release, void 0)])
      expect(yield* Fiber.join(early)).toEqual(["a 1#1", "b 1#1"])
      expect(yield* Fiber.join(late)).toEqual(["a 1#2", "b 1#2"])
      expect(yield* Effect.all([a.fn({ id: 1 }), b.fn({ id: 1 })])).toEqual(["a 1#2", "b 1#2"])
    }).pipe(Effect.provide(TestCache.layer())))
})
