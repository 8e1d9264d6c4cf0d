/**
 * Refresh-ahead on two instances with two tiers over one Redis (two tiered stores, each
 * with its own L1 and its own clients, in one process): after instance A refreshed a key
 * ahead, instance B's L1 still holds the copy it read before, past its refresh point.
 * B's next hit must find A's refreshed entry in Redis after it takes the lease, not
 * compute again (nor on every hit after that).
 */
import { Cached, CacheSettings, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { cleanup, sharedUrl } from "./redis.js"

const prefix = `redis-tiers-ahead-${process.pid}-${Date.now()}`
const channel = `${prefix}:sync`

afterAll(() => cleanup(prefix))

let computations = 0
const value = Cached.cached({
  key: KeyConstructor.make({ namespace: "ahead", fields: [KeyField.arg("id")] }),
  // fresh for 4 s, refreshed ahead from 2 s on
  ttl: Ttl.refreshAhead(Ttl.seconds(4), 0.5)
})((_: { readonly id: number }) => Effect.sync(() => ++computations))

/** One instance: its own client and subscriber, its own L1, on the shared channel. */
const instance = (name: string) =>
  Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(Effect.sync(() => new Redis(sharedUrl)), (client) => Effect.promise(() => client.quit())),
    (client) => RedisStore.layer({ client, l1: { capacity: 100 }, sync: { channel, connectionName: `${prefix}-${name}` } })
  )).pipe(Layer.provideMerge(CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "1 second" })))

/** Lets a background refresh finish. */
const settle = Effect.sleep("150 millis")

describe("refresh-ahead with two tiers on two instances", () => {
  it.live("B does not compute again what A refreshed: 2 computations, however many hits B makes", () =>
    Effect.gen(function*() {
      const a = yield* Layer.build(instance("a"))
      const b = yield* Layer.build(instance("b"))
      const onA = <X, E>(effect: Effect.Effect<X, E, any>) => Effect.provide(effect, a as Context.Context<any>)
      const onB = <X, E>(effect: Effect.Effect<X, E, any>) => Effect.provide(effect, b as Context.Context<any>)
      const input = { id: 1 }

      expect(yield* onA(value(input))).toBe(1) // a miss on A
      expect(yield* onB(value(input))).toBe(1) // B copies the entry into its L1
      expect(yield* onB(value(input))).toBe(1) // an L1 hit
      yield* Effect.sleep("2200 millis") // past the refresh point
      expect(yield* onA(value(input))).toBe(1) // A serves and refreshes ahead
      yield* settle
      expect(computations).toBe(2)

      const seenOnB: Array<number> = []
      for (let i = 0; i < 6; i++) {
        seenOnB.push(yield* onB(value(input)))
        yield* settle
      }
      process.stdout.write(`[tiers-ahead] computations=${computations} seen on B=${seenOnB.join(",")}\n`)
      expect(computations).toBe(2)
      // B serves A's refreshed value once it found it
      expect(seenOnB.at(-1)).toBe(2)
    }).pipe(Effect.scoped), 30_000)
})
