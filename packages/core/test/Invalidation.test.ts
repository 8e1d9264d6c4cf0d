import { describe, expect, it } from "@effect/vitest"
import {
  Cached,
  CacheMetrics,
  CacheStore,
  Dispatcher,
  Invalidation,
  InvalidationBus,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField,
  TestCache
} from "@cachefx/core"
import { integer, pgTable, text } from "drizzle-orm/pg-core"
import {
  Context,
  Deferred,
  Effect,
  Either,
  Exit,
  Fiber,
  FiberId,
  Layer,
  Logger,
  Metric,
  Option,
  Schedule,
  Schema,
  Scope,
  TestClock,
  type Tracer
} from "effect"
import { engine, Posts, type PostInput, wipes } from "./posts.js"
import { recordingTracer } from "./recordingTracer.js"

const posts = pgTable("posts", {
  id: integer("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  status: text("status").notNull(),
  title: text("title")
})
const users = pgTable("users", { id: integer("id").primaryKey() })

/** A cached value over `Posts` that counts its computations. */
const postsCache = (rules: ReadonlyArray<InvalidationRule.InvalidationRule>, name?: string) => {
  const calls: Array<PostInput> = []
  const fn = Cached.cached({ key: Posts, ttl: "1 hour", invalidatesOn: rules, name })(
    (input: PostInput) => Effect.sync(() => (calls.push(input), `${input.author}/${input.post}#${calls.length}`))
  )
  return { fn, calls }
}

const row = (author: number, id: number, more: Record<string, unknown> = {}) => ({ id, author_id: author, ...more })

const insert = (...rows: ReadonlyArray<InvalidationEvent.Row>) =>
  InvalidationEvent.make({ table: posts, operation: "insert", rows })

const fill = (fn: Cached.Cached<PostInput, string>, ...inputs: ReadonlyArray<PostInput>) =>
  Effect.zipRight(
    Effect.forEach(inputs, fn, { discard: true }),
    Effect.flatMap(TestCache.TestCache, (cache) => cache.clearLog)
  )

/** Publishes events to a posts cache with one rule; gives the invalidations the store saw. */
const wipesAfter = (options: InvalidationRule.Options, events: ReadonlyArray<InvalidationEvent.InvalidationEvent>) => {
  const { fn } = postsCache([InvalidationRule.make(options)])
  return Effect.forEach(events, Invalidation.publish, { discard: true }).pipe(
    Effect.zipRight(wipes),
    Effect.provide(engine([fn]))
  )
}

const update = (rows: ReadonlyArray<InvalidationEvent.Row>, more: {
  readonly before?: ReadonlyArray<InvalidationEvent.Row>
  readonly changed?: ReadonlyArray<string>
} = {}) => InvalidationEvent.make({ table: posts, operation: "update", rows, ...more })

const byKey: InvalidationRule.Options = { table: posts, fieldMapping: { author: posts.authorId, post: posts.id } }
const published = (row: Option.Option<InvalidationEvent.Row>) => Option.exists(row, (row) => row.status === "published")

/** Title, rule, events, and the invalidations they make. */
const decisions: ReadonlyArray<
  readonly [string, InvalidationRule.Options, ReadonlyArray<InvalidationEvent.InvalidationEvent>, ReadonlyArray<string>]
> = [
  [
    "a row that gives the partition inputs only wipes the partition (database column name)",
    { table: posts, fieldMapping: { author: "author_id" } },
    [insert(row(1, 3))],
    ["invalidate partition cachefx:posts:1:#1"]
  ],
  [
    "a column may be named by its Drizzle property name",
    { table: posts, fieldMapping: { author: "authorId" } },
    [insert(row(2, 3))],
    ["invalidate partition cachefx:posts:1:#2"]
  ],
  [
    "a row that does not give the partition inputs wipes the namespace",
    { table: posts, fieldMapping: { post: posts.id } },
    [insert(row(1, 3))],
    ["invalidate namespace cachefx:posts"]
  ],
  [
    "a row without a mapped column (a partial row) does not resolve that input",
    byKey,
    [insert({ author_id: 5 })],
    ["invalidate partition cachefx:posts:1:#5"]
  ],
  [
    "an event that does not know its rows (a bulk write) wipes the namespace",
    byKey,
    [update([])],
    ["invalidate namespace cachefx:posts"]
  ],
  [
    "one event with many rows invalidates each once; a partition wipe covers the keys in it",
    byKey,
    [insert(row(1, 3), row(1, 3), row(2, 4), { author_id: 2 })],
    ["invalidate partition cachefx:posts:1:#2", "invalidate key cachefx:posts:1:#1:#3"]
  ],
  [
    "update: a row that moved invalidates the key before and the key after",
    byKey,
    [update([row(2, 3)], { before: [row(1, 3)] })],
    ["invalidate key cachefx:posts:1:#2:#3", "invalidate key cachefx:posts:1:#1:#3"]
  ],
  [
    "update: a row whose mapped columns did not change invalidates its key once",
    byKey,
    [
      update([row(1, 3, { title: "b" })], { before: [row(1, 3, { title: "a" })] }),
      update([row(1, 4, { title: "b" })], { changed: ["title"] })
    ],
    ["invalidate key cachefx:posts:1:#1:#3", "invalidate key cachefx:posts:1:#1:#4"]
  ],
  [
    "update: one that may have moved the row, with the old row unknown, wipes the namespace",
    byKey,
    [update([row(2, 3)], { changed: ["author_id"] })],
    ["invalidate namespace cachefx:posts"]
  ],
  [
    "watchFields: an update that changes none of them does nothing",
    { ...byKey, watchFields: [posts.status] },
    [
      update([row(1, 3, { status: "draft", title: "new" })], { before: [row(1, 3, { status: "draft", title: "old" })] }),
      update([row(1, 3)], { changed: ["title"] }),
      update([row(1, 5, { status: "published" })], { before: [row(1, 5, { status: "draft" })] }),
      insert(row(1, 4))
    ],
    ["invalidate key cachefx:posts:1:#1:#5", "invalidate key cachefx:posts:1:#1:#4"]
  ],
  [
    "on: only the listed operations",
    { table: posts, fieldMapping: { author: posts.authorId }, on: ["delete"] },
    [insert(row(1, 3)), InvalidationEvent.make({ table: posts, operation: "delete", rows: [row(2, 3)] })],
    ["invalidate partition cachefx:posts:1:#2"]
  ],
  [
    "when: an Effect predicate over the change, which sees the row before and after (unpublishing counts)",
    { ...byKey, when: (change) => Effect.succeed(published(change.row) || published(change.before)) },
    [
      update([row(1, 3, { status: "draft" })], { before: [row(1, 3, { status: "draft" })] }),
      update([row(1, 4, { status: "draft" })], { before: [row(1, 4, { status: "published" })] }),
      update([row(1, 5, { status: "published" })], { before: [row(1, 5, { status: "draft" })] })
    ],
    ["invalidate key cachefx:posts:1:#1:#4", "invalidate key cachefx:posts:1:#1:#5"]
  ]
]

const buildError = <A>(layer: Layer.Layer<A, InvalidationRule.InvalidationRuleError | InvalidationEngine.CacheNameError>) =>
  Effect.scoped(Layer.build(layer)).pipe(Effect.flip, Effect.map((error) => error.message))

/** A logger that keeps the messages it is given. */
const capture = () => {
  const lines: Array<string> = []
  const layer = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      lines.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
  )
  return { lines, layer }
}

describe("InvalidationRule decisions", () => {
  it.effect("a row that gives every key input deletes that exact key (Drizzle columns)", () => {
    const { fn, calls } = postsCache([
      InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId, post: posts.id } })
    ])
    return Effect.gen(function*() {
      yield* fill(fn, { author: 1, post: 3 }, { author: 1, post: 4 })
      yield* Invalidation.publish(insert(row(1, 3)))
      expect(yield* wipes).toEqual(["invalidate key cachefx:posts:1:#1:#3"])
      expect((yield* fn.withStatus({ author: 1, post: 3 })).status).toBe("Miss")
      expect((yield* fn.withStatus({ author: 1, post: 4 })).status).toBe("Hit")
      expect(calls).toHaveLength(3)
    }).pipe(Effect.provide(engine([fn])))
  })

  it.effect("works with plain table names for non-Drizzle sources", () => {
    const Accounts = KeyConstructor.make({ namespace: "accounts", fields: [KeyField.arg("id")] })
    const fn = Cached.cached({
      key: Accounts,
      invalidatesOn: [InvalidationRule.make({ table: "accounts", fieldMapping: { id: "account_id" } })]
    })((input: { readonly id: string }) => Effect.succeed(input.id))
    return Effect.gen(function*() {
      yield* Invalidation.publish(
        InvalidationEvent.make({ table: "accounts", operation: "delete", rows: [{ account_id: "a:1" }] })
      )
      yield* Invalidation.publish(InvalidationEvent.make({ table: "other", operation: "delete", rows: [{ id: 1 }] }))
      expect(yield* wipes).toEqual(["invalidate key cachefx:accounts:1:a%3A1"])
    }).pipe(Effect.provide(engine([fn])))
  })

  it.effect("a field over all inputs cannot be resolved, so its namespace is wiped", () => {
    const fn = Cached.cached({
      key: KeyConstructor.make({ namespace: "search", fields: [KeyField.args("*", { hash: true })] }),
      invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } })]
    })((input: { readonly author: number; readonly q: string }) => Effect.succeed(input.q))
    return Effect.gen(function*() {
      yield* Invalidation.publish(insert(row(1, 3)))
      expect(yield* wipes).toEqual(["invalidate namespace cachefx:search"])
    }).pipe(Effect.provide(engine([fn])))
  })

  describe("custom fields that read services", () => {
    class Tenant extends Context.Tag("Tenant")<Tenant, string>() {}
    const Accounts = KeyConstructor.make({
      namespace: "tenantPosts",
      fields: [KeyField.make({ name: "tenant", partition: true, read: () => Tenant }), KeyField.arg("post")]
    })
    const fn = Cached.cached({
      key: Accounts,
      invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { post: posts.id } })]
    })((input: { readonly post: number }) => Effect.succeed(input.post))

    it.effect("are unresolved when the service is absent during invalidation: the namespace is wiped", () =>
      Effect.gen(function*() {
        yield* Invalidation.publish(insert(row(1, 3)))
        expect(yield* wipes).toEqual(["invalidate namespace cachefx:tenantPosts"])
      }).pipe(Effect.provide(engine([fn]))))

    it.effect("resolve when the engine has the service", () =>
      Effect.gen(function*() {
        yield* Invalidation.publish(insert(row(1, 3)))
        expect(yield* wipes).toEqual(["invalidate key cachefx:tenantPosts:1:acme:#3"])
      }).pipe(Effect.provide(engine([fn], Layer.succeed(Tenant, "acme")))))

    it.effect("read the engine's service, not one of the same tag the publisher has", () =>
      Effect.gen(function*() {
        yield* Invalidation.publish(insert(row(1, 3))).pipe(Effect.provideService(Tenant, "other"))
        expect(yield* wipes).toEqual(["invalidate key cachefx:tenantPosts:1:acme:#3"])
      }).pipe(Effect.provide(engine([fn], Layer.succeed(Tenant, "acme")))))
  })

  for (const [title, options, events, expected] of decisions) {
    it.effect(title, () => Effect.map(wipesAfter(options, events), (wiped) => expect(wiped).toEqual(expected)))
  }
})

describe("InvalidationRule rewarm", () => {
  it.effect("recomputes the exact key with the mapped input", () => {
    const { fn, calls } = postsCache([
      InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId, post: posts.id }, rewarm: true })
    ])
    return Effect.gen(function*() {
      yield* fill(fn, { author: 1, post: 3 })
      const before = yield* Metric.value(
        Metric.tagged(Metric.tagged(CacheMetrics.rewarms, "cache", "posts"), "rule", "posts(author=author_id,post=id)")
      )
      yield* Invalidation.publish(insert(row(1, 3)))
      const log = yield* Effect.flatMap(TestCache.TestCache, (cache) => cache.log)
      expect(log.map((op) => `${op.op} ${op.outcome}`)).toEqual(["invalidate done", "get miss", "set stored"])
      expect(calls).toEqual([{ author: 1, post: 3 }, { author: 1, post: 3 }])
      expect(yield* fn.withStatus({ author: 1, post: 3 })).toMatchObject({ status: "Hit", value: "1/3#2" })
      const after = yield* Metric.value(
        Metric.tagged(Metric.tagged(CacheMetrics.rewarms, "cache", "posts"), "rule", "posts(author=author_id,post=id)")
      )
      expect(after.count - before.count).toBe(1)
    }).pipe(Effect.provide(engine([fn])))
  })

  it.effect("wipes the partition instead when the row does not give every key input, and says so", () => {
    const { fn, calls } = postsCache([
      InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId }, rewarm: true })
    ])
    const logs = capture()
    return Effect.gen(function*() {
      yield* Invalidation.publish(insert(row(1, 3)))
      expect(yield* wipes).toEqual(["invalidate partition cachefx:posts:1:#1"])
      expect(calls).toEqual([])
      expect(logs.lines).toContainEqual(expect.stringContaining("cannot rewarm"))
    }).pipe(Effect.provide(engine([fn])), Effect.provide(logs.layer))
  })

  it.effect("leaves the key deleted when the recomputation fails, and says so", () => {
    const fn = Cached.cached({
      key: Posts,
      invalidatesOn: [
        InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId, post: posts.id }, rewarm: true })
      ]
    })((_: PostInput): Effect.Effect<string, string> => Effect.fail("database down"))
    const logs = capture()
    return Effect.gen(function*() {
      yield* Invalidation.publish(insert(row(1, 3)))
      expect(yield* wipes).toEqual(["invalidate key cachefx:posts:1:#1:#3"])
      expect(logs.lines).toContainEqual(expect.stringContaining("rewarm failed"))
    }).pipe(Effect.provide(engine([fn])), Effect.provide(logs.layer))
  })

  it.effect("deletes, without rewarming, the rows a delete removed", () => {
    const { fn, calls } = postsCache([
      InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId, post: posts.id }, rewarm: true })
    ])
    return Effect.gen(function*() {
      yield* Invalidation.publish(InvalidationEvent.make({ table: posts, operation: "delete", rows: [row(1, 3)] }))
      expect(yield* wipes).toEqual(["invalidate key cachefx:posts:1:#1:#3"])
      expect(calls).toEqual([])
    }).pipe(Effect.provide(engine([fn])))
  })
})

describe("InvalidationEngine", () => {
  it.effect("publish returns after the inline jobs of every cached value the table concerns", () => {
    const a = postsCache([InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } })], "a")
    const b = postsCache([InvalidationRule.make({ table: posts, fieldMapping: { post: posts.id } })], "b")
    const c = postsCache([InvalidationRule.make({ table: users, fieldMapping: { author: users.id } })], "c")
    return Effect.gen(function*() {
      yield* Invalidation.publish(insert(row(1, 3)))
      // each rule wipes its own cached value's namespace or partition (`#@<name>`: the value's own namespace)
      expect([...(yield* wipes)].sort()).toEqual(["invalidate namespace cachefx:posts:#@b", "invalidate partition cachefx:posts:#@a:1:#1"])
    }).pipe(Effect.provide(engine([a.fn, b.fn, c.fn])))
  })

  /** A read of post 3 after `written` is published never joins a computation of it that began before. */
  const joinsNoneBefore = (rule: InvalidationRule.InvalidationRule, written: InvalidationEvent.Row) => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    let calls = 0
    const fn = Cached.cached({ key: Posts, invalidatesOn: [rule] })((_: PostInput) =>
      Effect.suspend(() => ++calls === 1 ? Effect.as(Deferred.await(gate), "old") : Effect.succeed("new"))
    )
    return Effect.gen(function*() {
      const before = yield* Effect.fork(fn({ author: 1, post: 3 }))
      yield* Effect.yieldNow().pipe(Effect.repeatN(10))
      yield* Invalidation.publish(insert(written))
      expect(yield* fn({ author: 1, post: 3 })).toBe("new")
      yield* Deferred.succeed(gate, void 0)
      expect(yield* Fiber.join(before)).toBe("old")
      expect(yield* fn.peek({ author: 1, post: 3 })).toEqual(Option.some("new"))
    }).pipe(Effect.provide(engine([fn])))
  }

  it.effect(
    "a read after publish never joins, nor sees the fill of, a computation that began before the write",
    () => joinsNoneBefore(InvalidationRule.make(byKey), row(1, 3))
  )

  it.effect(
    "a read after a partition's invalidation never joins a computation of a key in it that began before",
    () => joinsNoneBefore(InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } }), row(1, 7))
  )

  describe("spans", () => {
    /** The names of the spans above the one a rule's `when` runs in, innermost first. */
    const ancestryInWhen = () => {
      const names: Array<string> = []
      const ancestry = (span: Option.Option<Tracer.AnySpan>): void =>
        Option.match(span, {
          onNone: () => undefined,
          onSome: (span) => {
            names.push(span._tag === "Span" ? span.name : "external")
            ancestry(span._tag === "Span" ? span.parent : Option.none())
          }
        })
      const { fn } = postsCache([
        InvalidationRule.make({
          ...byKey,
          when: () => Effect.as(Effect.map(Effect.option(Effect.currentSpan), ancestry), true)
        })
      ])
      return { fn, names }
    }

    it.effect("with a tracer that exports, the engine's spans continue the publisher's trace", () => {
      const { fn, names } = ancestryInWhen()
      const { started, tracer } = recordingTracer()
      return Effect.gen(function*() {
        yield* Invalidation.publish(insert(row(1, 3))).pipe(Effect.withSpan("write"))
        expect(names).toEqual(["cachefx.invalidation.job", "cachefx.invalidation.event", "write"])
        expect(started).toEqual(["write", "cachefx.invalidation.event", "cachefx.invalidation.job"])
      }).pipe(Effect.provide(engine([fn])), Effect.withTracer(tracer))
    })

    it.effect("with Effect's built-in tracer only, the engine makes no span", () => {
      const { fn, names } = ancestryInWhen()
      return Effect.gen(function*() {
        yield* Invalidation.publish(insert(row(1, 3))).pipe(Effect.withSpan("write"))
        expect(names).toEqual(["write"])
      }).pipe(Effect.provide(engine([fn])))
    })
  })

  it.effect("a publisher that stops waiting does not stop its invalidation, and the engine stops after it", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    const started = Deferred.unsafeMake<void>(FiberId.none)
    const { fn } = postsCache([
      InvalidationRule.make({
        ...byKey,
        when: () => Deferred.succeed(started, void 0).pipe(Effect.zipRight(Deferred.await(gate)), Effect.as(true))
      })
    ])
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(engine([fn]), scope)
      const publishing = yield* Effect.fork(Effect.provide(Invalidation.publish(insert(row(1, 3))), context))
      yield* Deferred.await(started)
      const interrupting = yield* Effect.fork(Fiber.interrupt(publishing))
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(interrupting))).toBe(true)
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      yield* Deferred.succeed(gate, void 0)
      yield* Fiber.join(interrupting)
      yield* Fiber.join(closing)
      expect(yield* Effect.provide(wipes, context)).toEqual(["invalidate key cachefx:posts:1:#1:#3"])
    })
  })

  it.effect("a publisher that sees another store: the jobs run on the engine's own", () => {
    const { fn } = postsCache([InvalidationRule.make(byKey)])
    return Effect.gen(function*() {
      const context = yield* Layer.build(engine([fn]))
      const bus = Context.get(context, InvalidationBus.InvalidationBus)
      const other = yield* Layer.build(TestCache.layer())
      // twice: the second job runs in the context worked out for the first
      const seen = yield* Effect.provide(
        Effect.forEach([3, 4], (post) => Effect.zipRight(bus.publish(insert(row(1, post))), CacheStore.CacheStore)),
        other
      )
      expect(yield* Effect.provide(wipes, context)).toEqual(["invalidate key cachefx:posts:1:#1:#3", "invalidate key cachefx:posts:1:#1:#4"])
      expect(yield* Effect.provide(wipes, other)).toEqual([])
      // after each publish the publisher's own context is back
      expect(seen).toEqual([Context.get(other, CacheStore.CacheStore), Context.get(other, CacheStore.CacheStore)])
    }).pipe(Effect.scoped)
  })

  it.effect("an event published before the engine starts is handled once it does", () => {
    const { fn } = postsCache([InvalidationRule.make(byKey)])
    return Effect.gen(function*() {
      const bus = yield* InvalidationBus.make
      const publishing = yield* Effect.fork(bus.publish(insert(row(1, 3))))
      yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(publishing))).toBe(true)
      yield* Effect.provideService(InvalidationEngine.make({ caches: [fn] }), InvalidationBus.InvalidationBus, bus)
      yield* Fiber.join(publishing)
      expect(yield* wipes).toEqual(["invalidate key cachefx:posts:1:#1:#3"])
      yield* bus.publish(insert(row(1, 4)))
      expect(yield* wipes).toEqual(["invalidate key cachefx:posts:1:#1:#3", "invalidate key cachefx:posts:1:#1:#4"])
    }).pipe(Effect.scoped, Effect.provide(TestCache.layer()))
  })

  it.effect("a failing job is retried with backoff and never fails the write", () => {
    const { fn } = postsCache([InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } })])
    return Effect.gen(function*() {
      const cache = yield* TestCache.TestCache
      yield* cache.failNext(2)
      const publishing = yield* Effect.fork(Invalidation.publish(insert(row(1, 3))))
      yield* TestClock.adjust("100 millis")
      expect(yield* wipes).toEqual(["invalidate partition cachefx:posts:1:#1", "invalidate partition cachefx:posts:1:#1"])
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(publishing)
      const log = yield* cache.log
      expect(log.map((op) => op.outcome)).toEqual(["failed", "failed", "done"])
    }).pipe(Effect.provide(engine([fn])))
  })

  it.effect("a job that fails after its retries is logged and counted", () => {
    const { fn } = postsCache(
      [InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId }, name: "by-author" })],
      "failing"
    )
    const logs = capture()
    const failures = Metric.value(
      Metric.tagged(Metric.tagged(CacheMetrics.invalidationFailures, "cache", "failing"), "rule", "by-author")
    )
    return Effect.gen(function*() {
      const cache = yield* TestCache.TestCache
      const before = yield* failures
      yield* cache.failNext(100)
      const publishing = yield* Effect.fork(Invalidation.publish(insert(row(1, 3))))
      // 4 retries, 100 ms doubling: given up after 1.5 s, before the first replay
      yield* TestClock.adjust("1500 millis")
      expect(yield* Fiber.await(publishing)).toEqual(Exit.void)
      expect((yield* cache.log).length).toBe(5)
      expect((yield* failures).count - before.count).toBe(1)
      expect(logs.lines).toContainEqual(expect.stringContaining("failed after its retries"))
    }).pipe(Effect.provide(engine([fn])), Effect.provide(logs.layer))
  })

  describe("a job the store did not answer is replayed once it answers (without the outbox)", () => {
    const toReplay = Metric.value(CacheMetrics.invalidationsToReplay).pipe(Effect.map((state) => state.value))

    it.effect("the job runs again, with a pause that doubles, until the store answers", () => {
      const { fn } = postsCache([InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } })])
      return Effect.gen(function*() {
        const cache = yield* TestCache.TestCache
        // the 5 attempts of the job, then 3 replays fail
        yield* cache.failNext(8)
        const publishing = yield* Effect.fork(Invalidation.publish(insert(row(1, 3))))
        yield* TestClock.adjust("1500 millis")
        yield* Fiber.join(publishing)
        expect(yield* toReplay).toBe(1)
        // replays every 500 ms while the store answers, the pause doubling after each failure: 3 fail, the 4th applies
        yield* TestClock.adjust("20 seconds")
        const log = yield* cache.log
        expect(log.map((op) => op.outcome)).toEqual([...Array.from({ length: 8 }, () => "failed"), "done"])
        expect(log.at(-1)?.target).toBe("cachefx:posts:1:#1")
        expect(yield* toReplay).toBe(0)
        // nothing left: no more store calls
        yield* TestClock.adjust("10 seconds")
        expect((yield* cache.log).length).toBe(9)
      }).pipe(Effect.provide(engine([fn])))
    })

    it.effect("past its bound, the namespaces of the jobs it could not keep are wiped instead", () => {
      const { fn } = postsCache([InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } })])
      const layer = InvalidationEngine.layer({
        caches: [fn],
        retry: Schedule.recurs(0),
        replay: { capacity: 2, interval: "10 seconds" }
      }).pipe(Layer.provideMerge(TestCache.layer()))
      return Effect.gen(function*() {
        const cache = yield* TestCache.TestCache
        yield* cache.failNext(3)
        yield* Effect.forEach([1, 2, 3], (author) => Invalidation.publish(insert(row(author, 3))), { discard: true })
        expect(yield* toReplay).toBe(1)
        yield* cache.clearLog
        yield* TestClock.adjust("10 seconds")
        // the third job overflowed: one namespace wipe stands in for the three (the two kept are dropped)
        expect(yield* wipes).toEqual(["invalidate namespace cachefx:posts"])
        expect(yield* toReplay).toBe(0)
        yield* TestClock.adjust("1 minute")
        expect(yield* wipes).toEqual(["invalidate namespace cachefx:posts"])
      }).pipe(Effect.provide(layer))
    })

    it.effect("a job that fails for another reason than the store is not replayed", () => {
      const { fn } = postsCache([
        InvalidationRule.custom({ table: posts, name: "broken", run: () => Effect.die("a bug in the rule") })
      ])
      return Effect.gen(function*() {
        const publishing = yield* Effect.fork(Invalidation.publish(insert(row(1, 3))))
        yield* TestClock.adjust("1500 millis")
        yield* Fiber.join(publishing)
        expect(yield* toReplay).toBe(0)
      }).pipe(Effect.provide(engine([fn])))
    })
  })

  it.effect("counts events, jobs, keys deleted, partitions and namespaces wiped", () => {
    const rule = InvalidationRule.make({ table: "metered", fieldMapping: { author: "a", post: "p" } })
    const { fn } = postsCache([rule], "metered")
    const counter = (metric: Metric.Metric.Counter<number>) =>
      Effect.map(
        Metric.value(Metric.tagged(Metric.tagged(metric, "cache", "metered"), "rule", rule.name)),
        (state) => state.count
      )
    const all = Effect.all([
      Effect.map(Metric.value(Metric.tagged(CacheMetrics.invalidationEvents, "table", "metered")), (s) => s.count),
      counter(CacheMetrics.invalidationJobs),
      counter(CacheMetrics.keysDeleted),
      counter(CacheMetrics.partitionsWiped),
      counter(CacheMetrics.namespacesWiped)
    ])
    return Effect.gen(function*() {
      const before = yield* all
      yield* Invalidation.publish(
        InvalidationEvent.make({ table: "metered", operation: "insert", rows: [{ a: 1, p: 1 }, { a: 2 }] })
      )
      yield* Invalidation.publish(InvalidationEvent.make({ table: "metered", operation: "insert", rows: [{ p: 1 }] }))
      const after = yield* all
      expect(after.map((n, i) => n - before[i]!)).toEqual([2, 2, 1, 1, 1])
    }).pipe(Effect.provide(engine([fn])))
  })

  it.effect("runs a job given by a worker; an unknown job is a typed error", () => {
    const { fn } = postsCache([InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } })])
    return Effect.gen(function*() {
      const event = insert(row(1, 3))
      yield* InvalidationEngine.run({ cache: "posts", rule: "posts(author=author_id)", event })
      expect(yield* wipes).toEqual(["invalidate partition cachefx:posts:1:#1"])
      const error = yield* Effect.flip(InvalidationEngine.run({ cache: "posts", rule: "posts(x=y)", event }))
      expect(error._tag).toBe("InvalidationRuleError")
      expect(error.message).toContain(`"posts(x=y)"`)
    }).pipe(Effect.provide(engine([fn])))
  })

  it("carries events and jobs as Schema values that survive JSON", () => {
    const job: Dispatcher.Job = {
      cache: "posts",
      rule: "posts(author=author_id)",
      event: InvalidationEvent.make({
        table: posts,
        operation: "update",
        rows: [row(2, 3)],
        before: [row(1, 3)],
        changed: ["author_id"],
        transactionId: "tx-9"
      })
    }
    const wire = JSON.stringify(Schema.encodeSync(Dispatcher.Job)(job))
    expect(Schema.decodeUnknownSync(Dispatcher.Job)(JSON.parse(wire))).toEqual(job)
    expect(job.event.table).toBe("posts")
  })
})

describe("InvalidationEngine layer errors", () => {
  const fn = (rule: InvalidationRule.InvalidationRule) => postsCache([rule], "timeline").fn

  it.effect("an input the key does not read", () =>
    Effect.gen(function*() {
      const rule = InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId } })
      const message = yield* buildError(engine([fn(rule)]))
      expect(message).toBe(
        `Cached value "timeline", invalidation rule "posts(authorId=author_id)": "authorId" is not an input of its key (the key reads: author, post)`
      )
    }))

  it.effect("a column the Drizzle table does not have", () =>
    Effect.gen(function*() {
      const rule = InvalidationRule.make({ table: posts, fieldMapping: { author: "writer_id" }, name: "by-writer" })
      expect(yield* buildError(engine([fn(rule)]))).toBe(
        `Cached value "timeline", invalidation rule "by-writer": fieldMapping "author": table "posts" has no column "writer_id" (its columns: id, author_id, status, title)`
      )
    }))

  it.effect("a column of another table, and an unknown watched column", () =>
    Effect.gen(function*() {
      const other = InvalidationRule.make({ table: posts, fieldMapping: { author: users.id } })
      expect(yield* buildError(engine([fn(other)]))).toContain(`column "id" belongs to table "users", not "posts"`)
      const watched = InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId }, watchFields: ["colour"] })
      expect(yield* buildError(engine([fn(watched)]))).toContain(`watchFields: table "posts" has no column "colour"`)
    }))

  it.effect("a dispatcher no layer provides", () =>
    Effect.gen(function*() {
      const rule = InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId }, dispatcher: "bullmq" })
      expect(yield* buildError(engine([fn(rule)]))).toContain(`no layer provides the dispatcher "bullmq"`)
      const provided = engine([fn(rule)], Layer.succeed(Dispatcher.tag("bullmq"), Dispatcher.inline))
      expect(yield* Effect.scoped(Effect.exit(Layer.build(provided)))).toMatchObject({ _tag: "Success" })
    }))

  it.effect("two rules of one cached value with one name, and two cached values with one name", () =>
    Effect.gen(function*() {
      const rule = InvalidationRule.make({ table: posts, fieldMapping: { author: posts.authorId } })
      expect(yield* buildError(engine([postsCache([rule, rule]).fn]))).toContain("two rules of this cached value")
      expect(yield* buildError(engine([fn(rule), fn(rule)]))).toBe(
        `Two cached values given to the engine are named "timeline" (one on key namespace "posts", the other on "posts"); give each its own name (cached({ name }))`
      )
    }))

  it("columns: a rule's columns by database name, as the engine reads event rows, or the first one the table lacks", () => {
    const rule = InvalidationRule.make({
      table: posts,
      fieldMapping: { author: "authorId", post: posts.id },
      watchFields: ["title", "status"]
    })
    expect(InvalidationRule.columns(rule)).toEqual(
      Either.right({ mapping: [["author", "author_id"], ["post", "id"]], watch: ["title", "status"] })
    )
    const unwatched = InvalidationRule.make({ table: "posts", fieldMapping: { author: "authorId" } })
    expect(InvalidationRule.columns(unwatched)).toEqual(Either.right({ mapping: [["author", "authorId"]], watch: undefined }))
    const unknown = InvalidationRule.make({ table: posts, fieldMapping: { author: "writer_id" }, name: "by-writer" })
    expect(Either.getLeft(InvalidationRule.columns(unknown)).pipe(Option.map((error) => error.message))).toEqual(
      Option.some(
        `InvalidationRule "by-writer": fieldMapping "author": table "posts" has no column "writer_id" (its columns: id, author_id, status, title)`
      )
    )
  })

  it("a table that is neither a Drizzle table nor a name fails when the rule is made", () => {
    expect(() => InvalidationRule.make({ table: { name: "posts" }, fieldMapping: {} })).toThrow(
      "expected a Drizzle table"
    )
  })
})
