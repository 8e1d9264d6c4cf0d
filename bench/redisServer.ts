/**
 * A redis-server of a benchmark's own, on a free loopback port, so that no other client
 * skews what it measures.
 */
import { Effect } from "effect"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import type { Meter } from "./harness.js"

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

/** Seconds of CPU (user and system) the redis-server has used so far. */
const serverCpuSeconds = async (client: Redis): Promise<number> => {
  const info = await client.info("cpu")
  return [...info.matchAll(/^used_cpu_(?:user|sys):([\d.]+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
}

/** Commands the redis-server has run so far, from `INFO commandstats`, without `INFO` itself. */
const serverCommands = async (client: Redis): Promise<number> => {
  const info = await client.info("commandstats")
  return [...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
    .filter((m) => m[1] !== "info")
    .reduce((sum, m) => sum + Number(m[2]), 0)
}

const serverMeter = (name: string, unit: string, scale: number, read: (client: Redis) => Promise<number>) =>
(client: Redis): Meter => ({
  name,
  unit,
  start: Effect.map(Effect.promise(() => read(client)), (before) =>
    Effect.map(Effect.promise(() => read(client)), (after) => (after - before) * scale))
})

/** µs of the redis-server's CPU per operation (`used_cpu_user` + `used_cpu_sys` of `INFO cpu`). */
export const redisCpu = serverMeter("redis cpu", "µs Redis CPU/op", 1e6, serverCpuSeconds)

/** Commands per operation as Redis counts them (a script's own calls included). */
export const redisCommands = serverMeter("redis commands", "commands/op", 1, serverCommands)
