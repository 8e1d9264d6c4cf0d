import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { CacheStoreError } from "../CacheError.js"
import * as CacheKey from "../CacheKey.js"
import { CacheSettings } from "../CacheSettings.js"
import * as CacheStore from "../CacheStore.js"
import * as TestCache from "../TestCache.js"
import * as memory from "./memoryStore.js"

interface Fault {
  remaining: number
  readonly apply: <A>(operation: string, effect: Effect.Effect<A, CacheStoreError>) => Effect.Effect<A, CacheStoreError>
}

/** @internal */
export const layer = (options?: CacheStore.MemoryOptions): Layer.Layer<CacheStore.CacheStore | TestCache.TestCache> =>
  Layer.effectContext(Effect.gen(function*() {
    const inner = yield* memory.make(options)
    const settings = yield* CacheSettings
    const log: Array<TestCache.Operation> = []
    const faults: Array<Fault> = []

    /** One operation, under the next fault, logged with one entry per target it addressed. */
    const runMany = <A>(
      op: TestCache.Operation["op"],
      targets: ReadonlyArray<string>,
      effect: Effect.Effect<A, CacheStoreError>,
      outcomes: (a: A) => ReadonlyArray<TestCache.Operation["outcome"]>,
      extra: Partial<TestCache.Operation> = {}
    ): Effect.Effect<A, CacheStoreError> => {
      const fault = faults[0]
      let attempt = effect
      if (fault !== undefined) {
        if (--fault.remaining === 0) faults.shift()
        attempt = fault.apply(op, effect)
      }
      return attempt.pipe(
        Effect.tapBoth({
          onFailure: () =>
            Effect.sync(() => targets.forEach((target) => log.push({ op, target, outcome: "failed", ...extra }))),
          onSuccess: (a) =>
            Effect.sync(() => outcomes(a).forEach((outcome, i) => log.push({ op, target: targets[i]!, outcome, ...extra })))
        })
      )
    }

    const run = <A>(
      op: TestCache.Operation["op"],
      target: string,
      effect: Effect.Effect<A, CacheStoreError>,
      outcome: (a: A) => TestCache.Operation["outcome"],
      extra?: Partial<TestCache.Operation>
    ): Effect.Effect<A, CacheStoreError> => runMany(op, [target], effect, (a) => [outcome(a)], extra)

    const found = (lookup: CacheStore.Lookup): TestCache.Operation["outcome"] =>
      Option.isNone(lookup.entry) ? "miss" : lookup.stale === true ? "stale" : "hit"

    const { deleteVersions } = inner
    const store: CacheStore.Service = CacheStore.withTimeout({
      get: (key) => run("get", key.key, inner.get(key), found),
      getMany: (keys: ReadonlyArray<CacheKey.CacheKey>) =>
        runMany("getMany", keys.map((key) => key.key), inner.getMany(keys), (lookups) => lookups.map(found)),
      set: (key, entry, guard) =>
        run("set", key.key, inner.set(key, entry, guard), (stored) => stored ? "stored" : "refused"),
      invalidate: (target, options) =>
        run("invalidate", CacheKey.scopeOf(target), inner.invalidate(target, options), () => "done", {
          scope: target._tag,
          ...(options?.soft === true ? { soft: true } : {})
        }),
      ...(deleteVersions === undefined ? {} : {
        deleteVersions: (namespace: string, previous: (version: string) => boolean) =>
          run("deleteVersions", namespace, deleteVersions(namespace, previous), () => "done")
      })
    }, settings.operationTimeout)

    const handle: TestCache.Service = {
      log: Effect.sync(() => log.slice()),
      clearLog: Effect.sync(() => {
        log.length = 0
      }),
      failNext: (n) =>
        Effect.sync(() => {
          faults.push({
            remaining: n,
            apply: (operation) => Effect.fail(new CacheStoreError({ operation, reason: "Injected" }))
          })
        }),
      delayNext: (n, duration) =>
        Effect.sync(() => {
          faults.push({ remaining: n, apply: (_, effect) => Effect.zipRight(Effect.sleep(duration), effect) })
        })
    }
    return Context.make(CacheStore.CacheStore, store).pipe(Context.add(TestCache.TestCache, handle))
  }))
