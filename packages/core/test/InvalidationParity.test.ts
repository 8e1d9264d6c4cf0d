import { describe, expect, it } from "@effect/vitest"
import {
  Cached,
  Dispatcher,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  TestCache
} from "@cachefx/core"
import { Effect, Layer, Option, Ref, Schema } from "effect"
import { engine, Posts, wipes } from "./posts.js"

const postsCache = (rules: ReadonlyArray<InvalidationRule.InvalidationRule>) =>
  Cached.cached({ key: Posts, ttl: "1 hour", invalidatesOn: rules })(
    (input: { readonly author: number; readonly post: number }) => Effect.succeed(`${input.author}/${input.post}`)
  )

/** Wipes the partition of every author the row had before and has after. */
const byAuthors = (seen: Array<InvalidationRule.Change> = []): InvalidationRule.Invalidator => (change, cached) => {
  seen.push(change)
  return Effect.forEach(
    [...Option.toArray(change.before), ...Option.toArray(change.row)],
    (row) => cached.deletePartition({ author: row.author_id }),
    { discard: true }
  )
}

const moved = InvalidationEvent.make({
  table: "posts",
  operation: "update",
  rows: [{ id: 3, author_id: 2 }],
  before: [{ id: 3, author_id: 1 }]
})

describe("InvalidationRule.custom", () => {
  it.effect("runs for each changed row with the rows before and after, the changed columns and the cached value", () => {
    const seen: Array<InvalidationRule.Change> = []
    const rule = InvalidationRule.custom({ table: "posts", run: byAuthors(seen) })
    return Effect.gen(function*() {
      expect(rule.name).toBe("posts(custom)")
      yield* Invalidation.publish(moved)
      expect(yield* wipes).toEqual(["invalidate partition cachefx:posts:1:#1", "invalidate partition cachefx:posts:1:#2"])
      expect(seen.map((change) => Option.getOrNull(change.changed))).toEqual([["author_id"]])
    }).pipe(Effect.provide(engine([postsCache([rule])])))
  })

  it.effect("reacts only to the operations in `on`; an input that does not build the key wipes wider", () => {
    const rule = InvalidationRule.custom({
      table: "posts",
      on: ["delete"],
      run: (change, cached) =>
        Effect.forEach(Option.toArray(change.row), (row) => cached.delete({ author: row.author_id }), { discard: true })
    })
    return Effect.gen(function*() {
      expect(rule.name).toBe("posts(custom)[delete]")
      yield* Invalidation.publish(moved)
      yield* Invalidation.publish(InvalidationEvent.make({ table: "posts", operation: "delete", rows: [{ author_id: 4 }] }))
      expect(yield* wipes).toEqual(["invalidate partition cachefx:posts:1:#4"])
    }).pipe(Effect.provide(engine([postsCache([rule])])))
  })

  it.effect("runs on its rule's dispatcher; a broker's job is data, run by name in the worker's engine", () => {
    const rule = InvalidationRule.custom({
      table: "posts",
      name: "posts(authors)",
      run: byAuthors(),
      dispatcher: "queue",
      dispatcherConfig: { queue: "slow" }
    })
    return Effect.gen(function*() {
      const sent = yield* Ref.make<ReadonlyArray<string>>([])
      const queue = Layer.succeed(Dispatcher.tag("queue"), {
        name: "queue",
        dispatch: ({ config, job }) =>
          Ref.update(sent, (all) => [...all, `${config.queue} ${JSON.stringify(Schema.encodeSync(Dispatcher.Job)(job))}`])
      })
      const [wire] = yield* Effect.gen(function*() {
        yield* Invalidation.publish(moved)
        expect(yield* wipes).toEqual([])
        return yield* Ref.get(sent)
      }).pipe(Effect.provide(engine([postsCache([rule])], queue)))
      expect(wire).toMatch(/^slow \{"cache":"posts","rule":"posts\(authors\)"/)
      // the worker: another engine, built from the same code
      const job = Schema.decodeUnknownSync(Dispatcher.Job)(JSON.parse(wire!.slice("slow ".length)))
      yield* Effect.gen(function*() {
        yield* InvalidationEngine.run(job)
        expect(yield* wipes).toEqual(["invalidate partition cachefx:posts:1:#1", "invalidate partition cachefx:posts:1:#2"])
      }).pipe(Effect.provide(engine([postsCache([rule])], queue)))
    })
  })
})

describe("InvalidationRule requireInputs", () => {
  const insert = (row: InvalidationEvent.Row) => InvalidationEvent.make({ table: "posts", operation: "insert", rows: [row] })
  const bulk = InvalidationEvent.make({ table: "posts", operation: "update", rows: [] })
  /** The invalidations of each event, published one by one. */
  const wiped = (requireInputs: "wipe" | "skip" | undefined, events: ReadonlyArray<InvalidationEvent.InvalidationEvent>) => {
    const rule = InvalidationRule.make({ table: "posts", fieldMapping: { author: "author_id", post: "id" }, requireInputs })
    const each = (event: InvalidationEvent.InvalidationEvent) =>
      Effect.zipRight(Invalidation.publish(event), Effect.flatMap(TestCache.TestCache, (cache) => Effect.zipLeft(wipes, cache.clearLog)))
    return Effect.forEach(events, each).pipe(Effect.provide(engine([postsCache([rule])])))
  }

  it.effect(`"wipe" (the default): a row without a mapped column wipes the widest scope it still addresses`, () =>
    Effect.gen(function*() {
      const expected = [["invalidate partition cachefx:posts:1:#5"], ["invalidate namespace cachefx:posts"]]
      expect(yield* wiped(undefined, [insert({ author_id: 5 }), insert({ id: 6 })])).toEqual(expected)
      expect(yield* wiped("wipe", [insert({ author_id: 5 }), insert({ id: 6 })])).toEqual(expected)
    }))

  it.effect(`"skip" ignores such rows; an event that does not know its rows still wipes the namespace`, () =>
    Effect.map(
      wiped("skip", [insert({ author_id: 5 }), insert({ id: 6 }), insert({ author_id: 5, id: 6 }), bulk]),
      (all) => expect(all).toEqual([[], [], ["invalidate key cachefx:posts:1:#5:#6"], ["invalidate namespace cachefx:posts"]])
    ))
})

describe("InvalidationEngine identity", () => {
  const build = (caches: ReadonlyArray<Cached.Cached.Any>) => Effect.scoped(Effect.exit(Layer.build(engine(caches))))
  const plain = (namespace: string, name?: string) =>
    Cached.cached({ key: KeyConstructor.make({ namespace }), name })(() => Effect.succeed(1))

  it.effect("two cached values on one name fail the build with a typed error naming both, rules or not", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(engine([plain("feed", "home"), plain("posts"), plain("timeline", "home")]))))
      expect(error).toMatchObject({ _tag: "CacheNameError", name: "home", namespaces: ["feed", "timeline"] })
      expect(error.message).toContain(`named "home" (one on key namespace "feed", the other on "timeline")`)
      expect(yield* build([plain("posts"), plain("posts")])).toMatchObject({ _tag: "Failure" })
    }))

  it.effect("one cached value given twice counts once", () => {
    const once = postsCache([])
    return Effect.map(build([once, once]), (exit) => expect(exit._tag).toBe("Success"))
  })

  it.effect("a job names its cached value and rule by name: the order of caches and rules does not matter", () => {
    const rules = [
      InvalidationRule.make({ table: "posts", fieldMapping: { author: "author_id" } }),
      InvalidationRule.custom({ table: "posts", run: (_, cached) => cached.invalidateAll })
    ] as const
    const job: Dispatcher.Job = { cache: "posts", rule: "posts(author=author_id)", event: moved }
    const ran = (caches: ReadonlyArray<Cached.Cached.Any>) =>
      Effect.zipRight(InvalidationEngine.run(job), wipes).pipe(Effect.provide(engine(caches)))
    return Effect.gen(function*() {
      const expected = ["invalidate partition cachefx:posts:1:#2", "invalidate partition cachefx:posts:1:#1"]
      expect(yield* ran([plain("feed"), postsCache([rules[0], rules[1]])])).toEqual(expected)
      expect(yield* ran([postsCache([rules[1], rules[0]]), plain("feed")])).toEqual(expected)
    })
  })
})
