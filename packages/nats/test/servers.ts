/**
 * NATS servers the tests start themselves, on free loopback ports, to kill, stop and
 * restart (the shared server on 127.0.0.1:4222 is never touched).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { connect, createServer, type Socket } from "node:net"

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/** A loopback port nothing listens on. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { readonly port: number }
      server.close(() => resolve(port))
    })
  })

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

/** A running `nats-server`: `kill` ends it as a crash would (SIGKILL); `pause`/`resume` freeze it (SIGSTOP/SIGCONT). */
export interface Server {
  readonly kill: () => Promise<void>
  readonly pause: () => void
  readonly resume: () => void
}

export const startServer = async (port: number): Promise<Server> => {
  const child: ChildProcess = spawn("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  let failure: Error | undefined
  child.once("error", (error) => (failure = error))
  for (let i = 0; !(await accepts(port)); i++) {
    if (failure !== undefined || i === 200) {
      child.kill("SIGKILL")
      throw new Error(`nats-server did not listen on port ${port} (${failure?.message ?? "timed out"})`)
    }
    await sleep(25)
  }
  return {
    kill: async () => {
      child.kill("SIGKILL")
      await exited
    },
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT")
  }
}

/**
 * A TCP proxy to a local port that holds what clients send for `delay` before passing
 * it on (what the server sends back passes at once). Closed with `close`.
 */
export const startDelayingProxy = async (
  target: number,
  delay: number
): Promise<{ readonly port: number; readonly close: () => Promise<void> }> => {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1")
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.once("close", () => (sockets.delete(socket), client.destroy(), upstream.destroy()))
      socket.on("error", () => {})
    }
    client.on("data", (chunk) => setTimeout(() => upstream.write(chunk), delay))
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as { readonly port: number }).port,
    close: () =>
      new Promise((resolve) => {
        sockets.forEach((socket) => socket.destroy())
        server.close(() => resolve())
      })
  }
}
