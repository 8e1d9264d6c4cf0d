/**
 * Redis servers the tests start themselves: a throwaway single node (to kill, pause and
 * restart, stopped by its PID) and a Cluster of 3 masters, on free loopback ports, in a
 * temporary directory.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Why no server can be started here, or undefined when `redis-server` runs. */
export const unavailable: string | undefined = (() => {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" })
  return probe.status === 0 ? undefined : `redis-server cannot be started (${probe.error?.message ?? probe.stderr})`
})()

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A free port whose Cluster bus port (+10000) is free too. */
export const freePort = async (): Promise<number> => {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    if (await portFree(port) && await portFree(port + 10_000)) {
      return port
    }
  }
}

const cli = (port: number, ...args: ReadonlyArray<string>) =>
  spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" }).stdout.trim()

const until = async (what: string, done: () => boolean) => {
  for (let i = 0; i < 200; i++) {
    if (done()) {
      return
    }
    await sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * A running `redis-server`: `stop` kills it (SIGKILL, as a crash would); `pause` and
 * `resume` freeze and thaw it (SIGSTOP, SIGCONT).
 */
export interface Server {
  readonly port: number
  readonly pid: number
  readonly stop: () => Promise<void>
  readonly pause: () => void
  readonly resume: () => void
}

/** Starts `redis-server` on `port` (no persistence unless `args` ask), and waits until it answers. */
export const startServer = async (port: number, args: ReadonlyArray<string> = []): Promise<Server> => {
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", ...args],
    { stdio: "ignore" }
  )
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await until(`redis-server on port ${port}`, () => cli(port, "ping") === "PONG")
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      child.kill("SIGKILL")
      await exited
    },
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT")
  }
}

/** A Cluster of 3 masters, no replicas, with every slot assigned. */
export interface RedisCluster {
  readonly ports: ReadonlyArray<number>
  readonly stop: () => Promise<void>
}

export const startCluster = async (): Promise<RedisCluster> => {
  const dir = mkdtempSync(join(tmpdir(), "cachefx-cluster-"))
  const ports: Array<number> = []
  while (ports.length < 3) {
    const port = await freePort()
    if (!ports.includes(port)) {
      ports.push(port)
    }
  }
  const servers = await Promise.all(ports.map((port) =>
    startServer(port, ["--cluster-enabled", "yes", "--cluster-config-file", join(dir, `nodes-${port}.conf`), "--dir", dir])
  ))
  const create = spawnSync(
    "redis-cli",
    ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"],
    { encoding: "utf8" }
  )
  if (create.status !== 0) {
    throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`)
  }
  await until("cluster_state:ok", () => ports.every((port) => cli(port, "cluster", "info").includes("cluster_state:ok")))
  return {
    ports,
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop()))
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
