/** The cached value the invalidation tests share: posts, partitioned by author, and the engine over them. */
import { type Cached, InvalidationEngine, KeyConstructor, TestCache } from "@cachefx/core";
import { Effect, Layer } from "effect";
export declare const Posts: KeyConstructor.KeyConstructor<{
    readonly author: unknown;
} & {
    readonly post: unknown;
}, never, unknown>;
export interface PostInput {
    readonly author: number;
    readonly post: number;
}
/** The engine over the given caches, on a TestCache, with extra layers (dispatchers, services). */
export declare const engine: (caches: ReadonlyArray<Cached.Cached.Any>, extra?: Layer.Layer<never>) => Layer.Layer<InvalidationEngine.InvalidationEngine | import("../src/InvalidationBus.js").InvalidationBus | import("../src/CacheStore.js").CacheStore | TestCache.TestCache, import("../src/InvalidationRule.js").InvalidationRuleError | InvalidationEngine.CacheNameError, never>;
/** An operation of the log as `op target`; an invalidation as `invalidate <key|partition|namespace> target`. */
export declare const describeOp: (op: TestCache.Operation) => string;
/** The invalidations the store saw, as `describeOp` gives them. */
export declare const wipes: Effect.Effect<string[], never, TestCache.TestCache>;
//# sourceMappingURL=posts.d.ts.map