/**
 * A redis-server of the test's own that persists every write (append-only, fsync always)
 * in a temporary directory, so a restart on the same port brings back what it held (as a
 * production Redis with AOF does), and a client of it that fails fast while it is down.
 * Everything is released with the scope.
 */
import { Effect } from "effect"
import { Redis } from "ioredis"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, type Server, startServer } from "./RedisServer.js"

export interface PersistentServer {
  readonly port: number
  /** A client that reconnects every 50 ms and fails a command at once while the server is down. */
  readonly client: Redis
  /** Kills the server (SIGKILL, by PID). */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same port and directory. */
  readonly restart: Effect.Effect<void>
}

export const persistentServer = Effect.gen(function*() {
  const port = yield* Effect.promise(freePort)
  const dir = mkdtempSync(join(tmpdir(), "cachefx-persistent-"))
  const start = () => startServer(port, ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir])
  let server: Server = yield* Effect.promise(start)
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    })
  )
  const client = yield* Effect.acquireRelease(
    Effect.sync(() => new Redis({ host: "127.0.0.1", port, retryStrategy: () => 50, maxRetriesPerRequest: 1 })),
    (client) => Effect.sync(() => client.disconnect())
  )
  client.on("error", () => {})
  const handle: PersistentServer = {
    port,
    client,
    stop: Effect.promise(() => server.stop()),
    restart: Effect.promise(async () => {
      server = await start()
    })
  }
  return handle
})
