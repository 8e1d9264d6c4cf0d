/**
 * Key fields that read an HTTP request, for `ResponseCache`. They are ordinary core
 * `KeyField`s: mix them with `KeyField.constant` and friends in a `KeyConstructor`.
 *
 * A cached handler's input, as invalidation rules see it, is the record of its path
 * parameters. During invalidation there is no request: `query`, `header` and the path
 * resolve to empty, so a rule can wipe a partition only when the partition is made of
 * named `pathParams` (and `requestValue`s) that its `fieldMapping` maps from the row.
 * Path parameters are text: a row's value is compared as `String(value)`.
 *
 * @since 0.1.0
 */
import type { KeyField } from "@cachefx/core"
import type * as Context from "effect/Context"
import * as internal from "./internal/requestKeyField.js"

/**
 * A query parameter, or all of them (`"*"`, in canonical order). A repeated name gives
 * the list of its values; an absent one gives empty.
 *
 * @example
 * ```ts
 * import { RequestKeyField } from "@cachefx/http"
 *
 * const page = RequestKeyField.query("page")
 * const everything = RequestKeyField.query("*", { hash: true })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const query: (
  selector: string,
  options?: { readonly hash?: boolean | undefined }
) => KeyField.KeyField<unknown, never, false> = internal.query

/**
 * The route's path parameters: the named ones, or all of them (`"*"`). Name them when an
 * invalidation rule must find the partition from a row: a rule's `fieldMapping` maps
 * those names to columns. With `"*"` a rule can only wipe the namespace.
 *
 * @example
 * ```ts
 * import { RequestKeyField } from "@cachefx/http"
 *
 * const user = RequestKeyField.pathParams(["userId"], { partition: true })
 * const all = RequestKeyField.pathParams("*", { partition: true })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const pathParams: {
  <P extends boolean = false>(
    selector: "*",
    options?: { readonly partition?: P | undefined }
  ): KeyField.KeyField<unknown, never, P>
  <const N extends string, P extends boolean = false>(
    names: ReadonlyArray<N>,
    options?: { readonly partition?: P | undefined }
  ): KeyField.KeyField<{ readonly [K in N]: unknown }, never, P>
} = internal.pathParams

/**
 * A request header (case-insensitive name); an absent header gives empty.
 *
 * @example
 * ```ts
 * import { RequestKeyField } from "@cachefx/http"
 *
 * const language = RequestKeyField.header("Accept-Language")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const header: <P extends boolean = false>(
  name: string,
  options?: { readonly partition?: P | undefined; readonly hash?: boolean | undefined }
) => KeyField.KeyField<unknown, never, P> = internal.header

/**
 * A value read from a service of the request's context (a tenant, a locale). Its input
 * name is `name` (default: the tag's key): during invalidation a rule can supply it by
 * mapping a column to that name; otherwise it resolves to empty. It never makes a key
 * per caller; use `user` for that.
 *
 * @example
 * ```ts
 * import { Context } from "effect"
 * import { RequestKeyField } from "@cachefx/http"
 *
 * class Tenant extends Context.Tag("Tenant")<Tenant, { readonly id: string }>() {}
 *
 * const tenant = RequestKeyField.requestValue(Tenant, (tenant) => tenant.id, { name: "tenant", partition: true })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const requestValue: <I, S, P extends boolean = false>(
  tag: Context.Tag<I, S>,
  f: (service: S) => unknown,
  options?: { readonly name?: string | undefined; readonly partition?: P | undefined }
) => KeyField.KeyField<unknown, I, P> = internal.requestValue

/**
 * A partition field that identifies the caller (input name `name`, default `"user"`).
 * A key with one is per caller, so `ResponseCache` may store `Cache-Control: private`
 * responses and responses to requests with credentials under it.
 *
 * @example
 * ```ts
 * import { Context } from "effect"
 * import { RequestKeyField } from "@cachefx/http"
 *
 * class CurrentUser extends Context.Tag("CurrentUser")<CurrentUser, { readonly id: number }>() {}
 *
 * const user = RequestKeyField.user(CurrentUser, (user) => user.id)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const user: <I, S>(
  tag: Context.Tag<I, S>,
  f: (service: S) => unknown,
  options?: { readonly name?: string | undefined }
) => KeyField.KeyField<unknown, I, true> = internal.user

/**
 * The request body, hashed (unless `hash: false`): with it in the key, a `GET` or `HEAD`
 * with a body uses the cache; without it, such a request is answered by the handler alone.
 * The body is read as text (the platform keeps it, so the handler reads it again with
 * `text`, `json` or `urlParamsBody`, not as a stream). A body is read only when the
 * request gives its `Content-Length`, at most `maxBytes` (default 65,536); a longer or
 * chunked body, or one that is not UTF-8, is answered by the handler alone. During
 * invalidation it resolves to empty.
 *
 * @example
 * ```ts
 * import { KeyConstructor } from "@cachefx/core"
 * import { RequestKeyField } from "@cachefx/http"
 *
 * const search = KeyConstructor.make({
 *   namespace: "search",
 *   fields: [RequestKeyField.query("*", { hash: true }), RequestKeyField.body({ maxBytes: 4096 })]
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const body: (
  options?: { readonly hash?: boolean | undefined; readonly maxBytes?: number | undefined }
) => KeyField.KeyField<unknown, never, false> = internal.body
