/**
 * The shared Redis of the tests (`REDIS_URL`, default 127.0.0.1:6379), which other test
 * runs use at the same time: each test file writes under a marker of its own and
 * removes its keys with `cleanup`.
 */
import { Redis } from "ioredis"

export const sharedUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** The shared Redis's port and host, as a proxy in front of it needs them. */
export const sharedAddress = (() => {
  const url = new URL(sharedUrl)
  return { host: url.hostname, port: Number(url.port || 6379) }
})()

/** Deletes every key of the shared Redis that contains `marker` (tests only: stores never scan). */
export const cleanup = async (marker: string): Promise<void> => {
  const client = new Redis(sharedUrl)
  try {
    for await (const keys of client.scanStream({ match: `*${marker}*`, count: 1000 })) {
      if ((keys as Array<string>).length > 0) {
        await client.unlink(...(keys as Array<string>))
      }
    }
  } finally {
    await client.quit()
  }
}
