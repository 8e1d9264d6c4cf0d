/**
 * A TCP proxy in front of a server the test started, whose links a test can slow down,
 * black-hole and heal while clients stay connected.
 */
import { createServer, type Server, Socket } from "node:net"

/** What the proxy does with the bytes of every connection, both ways. */
export type Mode =
  | { readonly _tag: "pass" }
  /** Every chunk, both ways, waits `millis` before it is passed on (in order). */
  | { readonly _tag: "slow"; readonly millis: number }
  /** Nothing passes and nothing closes: chunks are held until the proxy heals. */
  | { readonly _tag: "blackhole" }

export interface Proxy {
  readonly port: number
  readonly setMode: (mode: Mode) => void
  /** Closes every open connection (what they held is lost, as in a reset) and passes bytes again. */
  readonly reset: () => void
  readonly close: () => Promise<void>
}

/** One direction of one connection: chunks go out in order, each when the mode lets it. */
class Link {
  private readonly held: Array<Buffer> = []
  private flushing = false
  constructor(private readonly to: Socket, private readonly mode: () => Mode) {}

  push(chunk: Buffer) {
    this.held.push(chunk)
    void this.flush()
  }

  async flush(): Promise<void> {
    if (this.flushing) return
    this.flushing = true
    try {
      while (this.held.length > 0) {
        const mode = this.mode()
        if (mode._tag === "blackhole") return
        if (mode._tag === "slow") await new Promise((resolve) => setTimeout(resolve, mode.millis))
        // the mode may have turned to a black hole while this chunk waited
        if (this.mode()._tag === "blackhole") return
        const chunk = this.held.shift()!
        if (!this.to.destroyed) this.to.write(chunk)
      }
    } finally {
      this.flushing = false
    }
  }
}

/** Starts a proxy on a free loopback port to `127.0.0.1:upstream`. */
export const startProxy = (upstream: number): Promise<Proxy> => {
  let mode: Mode = { _tag: "pass" }
  const links = new Set<Link>()
  const sockets = new Set<Socket>()
  const closers = new Set<() => void>()
  const server: Server = createServer((client) => {
    const target = new Socket()
    sockets.add(client)
    sockets.add(target)
    const up = new Link(target, () => mode)
    const down = new Link(client, () => mode)
    links.add(up)
    links.add(down)
    const close = () => {
      closers.delete(close)
      links.delete(up)
      links.delete(down)
      sockets.delete(client)
      sockets.delete(target)
      client.destroy()
      target.destroy()
    }
    closers.add(close)
    client.on("data", (chunk: Buffer) => up.push(chunk))
    target.on("data", (chunk: Buffer) => down.push(chunk))
    client.on("error", close)
    client.on("close", close)
    target.on("error", close)
    target.on("close", close)
    target.connect(upstream, "127.0.0.1")
  })
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        port,
        setMode: (next) => {
          mode = next
          for (const link of links) void link.flush()
        },
        reset: () => {
          mode = { _tag: "pass" }
          for (const close of [...closers]) close()
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
}
