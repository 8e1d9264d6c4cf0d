import { CacheStore } from "@cachefx/core"
import { HttpClient, HttpClientRequest, type HttpApp, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"

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

/** `GET` a path. */
export const get = (path: string, headers?: Readonly<Record<string, string>>) => request("GET", path, headers)

/** A counter of handler runs. */
export const counter = () => {
  let n = 0
  return { next: () => ++n, get count() { return n } }
}

/** The status header of a reply. */
export const statusOf = (reply: Reply) => reply.headers["x-cache-status"]

