/**
 * A TCP proxy between a client and a local server that a test drives into faults:
 * delay each direction, black-hole every connection (nothing passes, nothing closes:
 * what is sent waits, as TCP retransmits it through a network partition), drop every
 * connection (reset, as a crashed peer would), and heal (what waited is delivered).
 */
import { connect, createServer, type Socket } from "node:net"

/** Which way a fault applies: what the client sends, what the server answers, or both. */
export type Direction = "toServer" | "toClient" | "both"

/** A running proxy; its faults apply to open connections and to new ones alike. */
export interface FaultProxy {
  /** The loopback port clients connect to. */
  readonly port: number
  /** Holds what passes in `direction` for `millis` before delivering it (in order); 0 passes at once. */
  readonly delay: (millis: number, direction?: Direction) => void
  /**
   * Holds everything in both directions, closing nothing: on every connection, open
   * and new (`"all"`, the default), or on the connections open now only (`"open"`: a
   * client that reconnects gets through). `heal` delivers what was held, in order.
   */
  readonly blackhole: (which?: "all" | "open") => void
  /** Destroys every open connection (new ones still connect). */
  readonly drop: () => void
  /** Passes everything again at once (ends black-hole and delays), what was held first. */
  readonly heal: () => void
  /** Connections open now. */
  readonly connections: () => number
  /** Stops listening and destroys every connection. */
  readonly close: () => Promise<void>
}

/**
 * One direction of a connection: chunks wait until their time (arrival + the delay in
 * force then, and never before the chunk ahead of them), so order holds when the
 * delay changes.
 */
class Lane {
  private last = 0
  /** What arrived while black-holed, delivered by `release`. */
  private held: Array<Buffer> = []

  constructor(
    private readonly to: Socket,
    private readonly faults: Faults,
    private readonly pair: Pair,
    private readonly toServer: boolean
  ) {}

  private get holding(): boolean {
    return this.faults.blackholed || this.pair.blackholed
  }

  pass(chunk: Buffer): void {
    if (this.holding) {
      this.held.push(chunk)
      return
    }
    const delay = this.toServer ? this.faults.toServer : this.faults.toClient
    const now = Date.now()
    const at = Math.max(now + delay, this.last)
    this.last = at
    const deliver = () => {
      if (this.holding) {
        this.held.push(chunk)
      } else if (this.to.writable) {
        this.to.write(chunk)
      }
    }
    if (at <= now) {
      deliver()
    } else {
      setTimeout(deliver, at - now)
    }
  }

  /** Delivers what was held, in order, once healed. */
  release(): void {
    const held = this.held
    this.held = []
    held.forEach((chunk) => this.pass(chunk))
  }
}

interface Faults {
  toServer: number
  toClient: number
  blackholed: boolean
}

/** One proxied connection: black-holed on its own by `blackhole("open")`. */
interface Pair {
  blackholed: boolean
  readonly lanes: ReadonlyArray<Lane>
}

/**
 * Starts a proxy on a free loopback port to `target` (on `host`).
 *
 * @example
 * ```ts
 * import { startProxy } from "@cachefx/testkit"
 *
 * const proxy = await startProxy(6379)
 * proxy.delay(400, "toClient") // Redis's answers arrive 400 ms late
 * proxy.blackhole()
 * await proxy.close()
 * ```
 */
export const startProxy = async (target: number, host = "127.0.0.1"): Promise<FaultProxy> => {
  const faults: Faults = { toServer: 0, toClient: 0, blackholed: false }
  const sockets = new Set<Socket>()
  const pairs = new Set<Pair>()
  const server = createServer((client) => {
    const upstream = connect(target, host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.once("close", () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
      socket.on("error", () => {})
    }
    const lanes: Array<Lane> = []
    const pair: Pair = { blackholed: false, lanes }
    pairs.add(pair)
    client.once("close", () => pairs.delete(pair))
    const toServer = new Lane(upstream, faults, pair, true)
    const toClient = new Lane(client, faults, pair, false)
    lanes.push(toServer, toClient)
    client.on("data", (chunk: Buffer) => toServer.pass(chunk))
    upstream.on("data", (chunk: Buffer) => toClient.pass(chunk))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as { readonly port: number }).port,
    delay: (millis, direction = "both") => {
      if (direction !== "toClient") {
        faults.toServer = millis
      }
      if (direction !== "toServer") {
        faults.toClient = millis
      }
    },
    blackhole: (which = "all") => {
      if (which === "all") {
        faults.blackholed = true
      } else {
        pairs.forEach((pair) => (pair.blackholed = true))
      }
    },
    drop: () => sockets.forEach((socket) => socket.destroy()),
    heal: () => {
      faults.blackholed = false
      faults.toServer = 0
      faults.toClient = 0
      pairs.forEach((pair) => {
        pair.blackholed = false
        pair.lanes.forEach((lane) => lane.release())
      })
    },
    connections: () => pairs.size,
    close: () =>
      new Promise((resolve) => {
        sockets.forEach((socket) => socket.destroy())
        server.close(() => resolve())
      })
  }
}
