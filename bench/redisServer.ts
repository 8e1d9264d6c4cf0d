/**
 * A redis-server of a benchmark's own, on a free loopback port, so that no other client
 * skews what it measures.
 */
import { Effect } from "effect"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { createServer } from "node:net"

/** A redis-server on a free port, pinned to one CPU when given (with `taskset`), killed when the scope closes. */
export const serverOn = (cpu?: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, "127.0.0.1", () => {
          const { port } = probe.address() as { port: number }
          probe.close(() => resolve(port))
        })
      })
      const args = ["--port", String(port), "--save", "", "--appendonly", "no"]
      const child = cpu === undefined
        ? spawn("redis-server", args, { stdio: "ignore" })
        : spawn("taskset", ["-c", String(cpu), "redis-server", ...args], { stdio: "ignore" })
      const client = new Redis(port, "127.0.0.1", { retryStrategy: () => 20 })
      client.on("error", () => {}) // refused until the server listens
      await new Promise((resolve) => client.once("ready", resolve))
      return { port, child, client }
    }),
    ({ child, client }) => Effect.sync(() => (client.disconnect(), child.kill("SIGKILL")))
  )

/** A redis-server on a free port, killed when the scope closes. */
export const server = serverOn()
