/** The cached value the invalidation tests share: posts, partitioned by author, and the engine over them. */
import { type Cached, InvalidationEngine, KeyConstructor, KeyField, TestCache } from "@cachefx/core"
import { Effect, Layer } from "effect"

export const Posts = KeyConstructor.make({
  namespace: "posts",
  fields: [KeyField.arg("author", { partition: true }), KeyField.arg("post")]
})

export interface PostInput {
  readonly author: number
  readonly post: number
}

/** The engine over the given caches, on a TestCache, with extra layers (dispatchers, services). */
export const engine = (caches: ReadonlyArray<Cached.Cached.Any>, extra: Layer.Layer<never> = Layer.empty) =>
  InvalidationEngine.layer({ caches }).pipe(Layer.provide(extra), Layer.provideMerge(TestCache.layer()))

/** An operation of the log as `op target`; an invalidation as `invalidate <key|partition|namespace> target`. */
export const describeOp = (op: TestCache.Operation): string =>
  op.scope === undefined ? `${op.op} ${op.target}` : `${op.op} ${op.scope.toLowerCase()} ${op.target}`

/** The invalidations the store saw, as `describeOp` gives them. */
export const wipes = Effect.flatMap(TestCache.TestCache, (cache) => cache.log).pipe(
  Effect.map((log) => log.filter((op) => op.op !== "get" && op.op !== "set").map(describeOp))
)
