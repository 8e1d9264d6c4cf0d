import type { Cluster, Command, Pipeline, Redis } from "ioredis"

/** Sends one command on the client it was made for. */
export type Send = (command: Command) => void

const senders = new WeakMap<Redis | Cluster, Send>()

/**
 * How the store sends its scripts on a client. On a single Redis, the commands sent in
 * one tick (the concurrent reads a burst of replies sets off) go in one pipeline, one
 * socket write instead of one each, as ioredis's `enableAutoPipelining` would do for
 * the whole client: a write is a system call, the dearest part of a hit on the client's
 * side, and Redis reads the batch in one go too. A tick with one command sends it as it
 * is. On a Cluster commands are sent as they come (a pipeline must not span nodes).
 * Each command still answers on its own promise; commands of different callers in the
 * same tick were concurrent, so their order is free.
 *
 * @internal
 */
export const sender = (client: Redis | Cluster): Send => {
  const known = senders.get(client)
  if (known !== undefined) {
    return known
  }
  let batch: Array<Command> | undefined
  const flush = () => {
    const commands = batch!
    batch = undefined
    if (commands.length === 1) {
      client.sendCommand(commands[0]!)
      return
    }
    // `pipeline()` gives a Pipeline typed as its chainable commands, without `sendCommand`
    const pipeline = client.pipeline() as unknown as Pipeline
    for (const command of commands) {
      pipeline.sendCommand(command)
    }
    // each command's own promise carries its reply or error to its caller
    pipeline.exec().catch(() => undefined)
  }
  const send: Send = client.isCluster
    ? (command) => {
      client.sendCommand(command)
    }
    : (command) => {
      if (batch === undefined) {
        batch = []
        process.nextTick(flush)
      }
      batch.push(command)
    }
  senders.set(client, send)
  return send
}
