import type * as CacheStore from "../CacheStore.js"

/**
 * Gives a store its `getSync` as a property that a spread does not copy: a wrapper
 * written `{ ...store, get }` then has no `getSync`, and `cached()` reads every key,
 * hits included, through the wrapper's own `get`.
 *
 * @internal
 */
export const withGetSync = (
  store: CacheStore.Service,
  getSync: CacheStore.Service["getSync"]
): CacheStore.Service =>
  getSync === undefined
    ? store
    : Object.defineProperty(store, "getSync", { value: getSync, enumerable: false, writable: false, configurable: false })
