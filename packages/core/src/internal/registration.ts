import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import type * as Cached from "../Cached.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type * as InvalidationEngine from "../InvalidationEngine.js"

/** The key of the `InvalidationEngine` tag (read by key: the tag's module imports the engine, which imports this). */
const engineKey = "@cachefx/core/InvalidationEngine"

/**
 * The check a cached value with rules makes of the context it runs in: when that
 * context's engine does not serve it, no write invalidates it there, which would
 * otherwise go unnoticed. Each context is looked at once (a runtime has one), and each
 * engine warns once per cached value; a context without an engine (a process that only
 * reads) is not warned about.
 *
 * @internal
 */
export const checker = (name: string, self: () => Cached.Cached.Any) => {
  const seen = new WeakSet<Context.Context<never>>()
  const warned = new WeakSet<InvalidationEngine.Service>()
  const labels = [MetricLabel.make("cache", name)]
  return (context: Context.Context<never>): Effect.Effect<void> | undefined => {
    if (seen.has(context)) {
      return undefined
    }
    seen.add(context)
    const engine = context.unsafeMap.get(engineKey) as InvalidationEngine.Service | undefined
    if (engine === undefined || warned.has(engine) || engine.caches.includes(self())) {
      return undefined
    }
    warned.add(engine)
    CacheMetrics.unregisteredCaches.unsafeUpdate(1, labels)
    return Effect.logWarning(
      `cachefx: the cached value "${name}" has invalidation rules, but the InvalidationEngine of this runtime was ` +
        `not given it: no write invalidates it here. Add it to the caches of InvalidationEngine.layer({ caches }) ` +
        `(DrizzleHooks.instrument reads them from the engine when given none)`
    )
  }
}
