import { CacheStore } from "@cachefx/core"
import { HttpClient, HttpClientRequest, type HttpApp, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Http from "node:http"

/** A real server on a free loopback port, a real client aimed at it, and a memory store. */
export const ServerLive = Layer.merge(NodeHttpServer.layerTest, CacheStore.layerMemory())

/** Serves an app for the rest of the test's scope. */
export const serve = <E, R>(app: HttpApp.Default<E, R>) => HttpServer.serveEffect()(app)

/** What a test reads from a response. */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

/** Sends a request and reads the whole reply. */
export const request = (
  method: "GET" | "HEAD" | "POST",
  path: string,
  headers: Readonly<Record<string, string>> = {}
): Effect.Effect<Reply, unknown, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      method === "GET"
        ? HttpClientRequest.get(path, { headers })
        : method === "HEAD"
        ? HttpClientRequest.head(path, { headers })
        : HttpClientRequest.post(path, { headers })
    ).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.text, (body) => ({ status: response.status, headers: response.headers, body }))
      ),
      Effect.scoped
    ))

/**
 * A request for a path of the served app, with the host the test client sends: what
 * `delete` or `keyFor` are given to reach the entries the client's requests filled.
 */
export const served = (path: string) =>
  HttpServer.addressWith((address) =>
    Effect.succeed(HttpServerRequest.fromWeb(
      new Request(address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}${path}` : `http://localhost${path}`)
    ))
  )

/** `GET` a path. */
export const get = (path: string, headers?: Readonly<Record<string, string>>) => request("GET", path, headers)

/** A counter of handler runs. */
export const counter = () => {
  let n = 0
  return { next: () => ++n, get count() { return n } }
}

/** The status header of a reply. */
export const statusOf = (reply: Reply) => reply.headers["x-cache-status"]


/**
 * Sends a request over `node:http` to the served app: unlike fetch it may set `Host` and
 * send a body with `GET`, as a hostile or careless client can.
 */
export const raw = (
  method: string,
  path: string,
  headers: Readonly<Record<string, string>> = {},
  body?: string | Uint8Array
): Effect.Effect<Reply, Error, HttpServer.HttpServer> =>
  HttpServer.addressWith((address) =>
    Effect.async<Reply, Error>((resume) => {
      const port = address._tag === "TcpAddress" ? address.port : 0
      const length = body === undefined || headers["transfer-encoding"] !== undefined
        ? {}
        : { "content-length": String(Buffer.from(body).byteLength) }
      const request = Http.request({ host: "127.0.0.1", port, method, path, headers: { ...length, ...headers } }, (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () =>
          resume(Effect.succeed({
            status: response.statusCode ?? 0,
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : value])
            ),
            body: Buffer.concat(chunks).toString("utf8")
          })))
        response.on("error", (error) => resume(Effect.fail(error)))
      })
      request.on("error", (error) => resume(Effect.fail(error)))
      request.end(body === undefined ? undefined : Buffer.from(body))
    })
  )
