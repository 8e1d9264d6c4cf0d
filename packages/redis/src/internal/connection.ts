import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"

/**
 * How long opening a connection waits for Redis before the store starts anyway
 * (failing open until Redis answers).
 */
const connectWait = Duration.seconds(2)

/**
 * Opens a connection that answers quickly when Redis is down: no offline queue (a
 * command fails at once while disconnected) and no retry of commands in flight when
 * the connection drops. It reconnects by itself. Closed (`QUIT`, then disconnect) when
 * the scope closes.
 *
 * @internal
 */
export const connect = (url: string): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
      // Failures reach callers as `CacheStoreError`s; the event would only be printed.
      client.on("error", () => {})
      return client
    }).pipe(Effect.tap(ready)),
    (client) =>
      Effect.tryPromise(() => client.quit()).pipe(
        Effect.timeout(connectWait),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => client.disconnect()))
      )
  )

/** Waits for the first connection attempt to settle (ready or failed), at most `connectWait`. */
const ready = (client: Redis): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const forget = () => {
      client.off("ready", settle)
      client.off("error", settle)
    }
    const settle = () => {
      forget()
      resume(Effect.void)
    }
    if (client.status === "ready") {
      return settle()
    }
    client.on("ready", settle)
    client.on("error", settle)
    return Effect.sync(forget)
  }).pipe(Effect.timeout(connectWait), Effect.ignore)

/**
 * The options of a `layerConfig`, read from `Config`, and a connection to their `url`
 * (see `connect`), closed with the scope.
 *
 * @internal
 */
export const connectConfig = <A extends { readonly url: Redacted.Redacted }>(
  options: Config.Config.Wrap<A>
): Effect.Effect<{ readonly client: Redis; readonly options: Omit<A, "url"> }, ConfigError.ConfigError, Scope.Scope> =>
  Effect.flatMap(Config.unwrap(options), ({ url, ...rest }) =>
    Effect.map(connect(Redacted.value(url)), (client) => ({ client, options: rest })))
