/**
 * NATS servers the tests start themselves, on free loopback ports (`freePort` of
 * `@cachefx/testkit`), to kill, stop and restart (the shared server on 127.0.0.1:4222 is
 * never touched).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { connect } from "node:net"

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

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
