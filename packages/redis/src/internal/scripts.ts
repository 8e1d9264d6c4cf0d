import { type Cluster, Command, type Redis } from "ioredis"
import { createHash } from "node:crypto"
import { sender } from "./batch.js"

/**
 * The Lua scripts of the store, sent by `EVALSHA` (and `EVAL` when Redis does not
 * know them yet).
 *
 * Stored values:
 * - an entry: `<id> <partition stamp> <namespace stamp> <json>`, with the stamps its
 *   fill read;
 * - a tombstone (left by an exact-key delete for the fill window): `~<id>`;
 * - anything else is foreign (other bytes, or a key of another Redis type, which
 *   `GET` refuses): never served, reported, replaced by the next fill.
 *
 * What a key holds is named by its "hold": `""` (absent), the entry's id, the whole
 * tombstone, or `"?"` (foreign). A fill stores only while the key holds what the read
 * saw, the stamps are unchanged and the fill window (on the Redis clock) has not
 * passed.
 *
 * Soft invalidation: a stamp is `<base>` or `<base>.<soft id>`. A hard wipe gives its
 * scope a new base (its entries are dead); a soft wipe keeps the base and gives a new
 * soft id, so its entries (filled under another soft id of the same base) read as
 * stale, and a fill that read the old stamp no longer matches it. A soft delete
 * rewrites its entry under a new id with a partition stamp of a soft id of its own.
 *
 * @internal
 */
const prelude = `
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function stamp(key, fresh, window)
  local s = redis.call('GET', key)
  if s then return s end
  redis.call('SET', key, fresh, 'PX', window)
  return fresh
end
local function keep(key, px, window)
  local ttl = redis.call('PTTL', key)
  if ttl < px + window then redis.call('PEXPIRE', key, px + window) end
end
local function read(key)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' and v.err then return '?' end
  return v
end
local function base(s)
  return string.match(s, '^%w+')
end
local function inspect(v)
  if not v then return '' end
  local _, last, id, p, n = string.find(v, '^(%w+) ([%w.]+) ([%w.]+) ')
  if id then return id, p, n, last + 1 end
  if string.find(v, '^~%w+$') then return v end
  return '?'
end
`

/**
 * The read of one key, shared by `get` and `getMany`. An entry filled under the current
 * partition stamp (a hit) is answered as one string: the namespace stamp (empty without
 * its key), a space, and the entry as stored; a string is one bulk reply, which the
 * client reads in a fraction of an array's time (each element of an array is a buffer
 * and then a string of its own). Anything else is answered as `{hold, partition stamp,
 * namespace stamp (false without its key), Redis time (false when the key holds an
 * entry: `now` is the function that reads it, called only otherwise)}`, followed, for an
 * entry filled under another soft id of the partition stamp's base (stale), by the
 * entry's namespace stamp, its JSON and `1`.
 * Missing stamps are created, so every reader of a scope sees one stamp.
 * An entry dead by a hard wipe (its partition stamp, or its namespace stamp when the
 * script has it, of another base) is deleted: it would never be served again, and
 * would hold its memory until its expiry. The key then holds nothing (`""`): a fill
 * that read the dead entry no longer matches it, and it was void anyway.
 */
const lookup = `
local function lookup(entry, partition, namespace, fresh, window, now)
  local p = stamp(partition, fresh, window)
  local n = false
  if namespace then n = stamp(namespace, fresh, window) end
  local v = read(entry)
  local hold, ep, en, start = inspect(v)
  if ep and (base(ep) ~= base(p) or (n and base(en) ~= base(n))) then
    redis.call('DEL', entry)
    return {'', p, n, now()}
  end
  -- an entry: no time (its guard's window is checked on the client, see redisStore.ts)
  if ep == p then return (n or '') .. ' ' .. v end
  -- soft invalidation: the partition (or the key) was invalidated softly since the fill
  if ep and base(ep) == base(p) then return {hold, p, n, false, en, string.sub(v, start), 1} end
  return {hold, p, n, now()}
end
`

/**
 * The lease of a key (distributed single-flight), in the entry's slot: taken by a read
 * that finds no entry (`takeLease`: 1 taken, 0 held by another), given back by the fill
 * or the release script (`giveBack`: only while the token holds it, then published on
 * the channel, the waiters wake; 1 when given back). A lease key without an expiry was
 * not set by a lease (every lease has its `PX`): foreign or corrupt, it would hold the
 * key's misses forever, so it is taken over as if absent.
 */
const takeLease = `
local function takeLease(key, token, px)
  if redis.call('SET', key, token, 'PX', px, 'NX') then return 1 end
  if redis.call('PTTL', key) == -1 then
    redis.call('SET', key, token, 'PX', px)
    return 1
  end
  return 0
end
`

const giveBack = `
local function giveBack(key, token, channel)
  if redis.call('GET', key) ~= token then return 0 end
  redis.call('DEL', key)
  redis.call('PUBLISH', channel, key)
  return 1
end
`

/**
 * The scripts' optional lease key: last of KEYS when `ARGV[leased]` is given, after the
 * namespace stamp (which a Cluster's scripts do not have).
 */
const leaseKeys = (leased: number) => `
local lease = ARGV[${leased}] and KEYS[#KEYS]
local namespace = KEYS[3] ~= lease and KEYS[3]
`

/**
 * KEYS: entry, partition stamp[, namespace stamp][, lease]. ARGV: fresh stamp, fill
 * window[, lease PX, lease token]. Returns the `lookup` of the key; with a lease, when
 * the key holds no entry it can serve (none under the current stamps, or their bases),
 * `{hold, partition stamp, namespace stamp, Redis time, nil, nil, nil, takeLease}`.
 * A fresh or stale entry takes no lease: a hit costs the same with or without one.
 * (An entry under the current partition stamp answered as a string is under the
 * namespace stamp's base too when the script has it: `lookup` deleted it otherwise.)
 */
const get = prelude + lookup + takeLease + leaseKeys(3) + `
local reply = lookup(KEYS[1], KEYS[2], namespace, ARGV[1], tonumber(ARGV[2]), clock)
if type(reply) == 'string' then return reply end
local en, n = reply[5], reply[3]
if lease and (not en or (n and en ~= n and base(en) ~= base(n))) then
  return {reply[1], reply[2], n, reply[4] or clock(), false, false, false, takeLease(lease, ARGV[4], ARGV[3])}
end
return reply
`

/**
 * KEYS: per key read, its entry and partition stamp[, namespace stamp]. ARGV: fresh
 * stamp, fill window, keys per read (2, or 3 with the namespace stamp). Returns the
 * `lookup` of each, in order, at one Redis time.
 */
const getMany = prelude + lookup + `
local window = tonumber(ARGV[2])
local stride = tonumber(ARGV[3])
local time = clock()
local now = function() return time end
local replies = {}
for i = 1, #KEYS, stride do
  local namespace = false
  if stride == 3 then namespace = KEYS[i + 2] end
  replies[#replies + 1] = lookup(KEYS[i], KEYS[i + 1], namespace, ARGV[1], window, now)
end
return replies
`

/**
 * KEYS: entry, partition stamp[, namespace stamp][, lease]. ARGV: hold, partition stamp,
 * namespace stamp, read time (`""` for a read by `MGET`, whose window the client
 * checked), fill window, entry id, PX, JSON[, lease token, channel].
 * Returns 1 when stored. Stamps are kept alive at least as long as the entry (a stamp
 * without expiry, left by an older version, is given one).
 * The lease the read took is given back, whether the entry is stored or not.
 */
const fill = prelude + giveBack + leaseKeys(9) + `
local function fill()
  local window = tonumber(ARGV[5])
  if ARGV[4] ~= '' and clock() - tonumber(ARGV[4]) > window then return 0 end
  if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
  if namespace and redis.call('GET', namespace) ~= ARGV[3] then return 0 end
  if inspect(read(KEYS[1])) ~= ARGV[1] then return 0 end
  local px = tonumber(ARGV[7])
  local value = ARGV[6] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[8]
  redis.call('SET', KEYS[1], value, 'PX', px)
  keep(KEYS[2], px, window)
  if namespace then keep(namespace, px, window) end
  return 1
end
local stored = fill()
if lease then giveBack(lease, ARGV[9], ARGV[10]) end
return stored
`

/**
 * The namespace stamp on a Cluster, where it lives in a slot of its own.
 * KEYS: namespace stamp. ARGV: fresh stamp, fill window[, PX of a fill].
 * Returns the stamp, created when missing and kept alive for the fill when given.
 */
const namespace = prelude + `
local window = tonumber(ARGV[2])
local s = stamp(KEYS[1], ARGV[1], window)
if ARGV[3] then keep(KEYS[1], tonumber(ARGV[3]), window) end
return s
`

/**
 * A soft wipe of a scope. KEYS: its stamp. ARGV: fresh id, fill window.
 * The stamp keeps its base (and its expiry) and takes the fresh id as its soft id; a
 * missing stamp (no entry refers to it) is created fresh, as a hard wipe would.
 */
const soften = prelude + `
local s = redis.call('GET', KEYS[1])
if s then
  redis.call('SET', KEYS[1], base(s) .. '.' .. ARGV[1], 'KEEPTTL')
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
end
return 1
`

/**
 * A soft delete of a key. KEYS: entry. ARGV: fresh id, fill window.
 * An entry is rewritten under the fresh id (voiding fills that read it) with the
 * fresh id as its partition stamp's soft id (so it reads as stale), keeping its
 * expiry; anything else is replaced by a tombstone, as by a hard delete.
 */
const softDelete = prelude + `
local v = read(KEYS[1])
local _, ep, en, start = inspect(v)
if ep then
  local header = ARGV[1] .. ' ' .. base(ep) .. '.' .. ARGV[1] .. ' ' .. en .. ' '
  redis.call('SET', KEYS[1], header .. string.sub(v, start), 'KEEPTTL')
else
  redis.call('SET', KEYS[1], '~' .. ARGV[1], 'PX', tonumber(ARGV[2]))
end
return 1
`

/** KEYS: lease. ARGV: token, channel. Returns `giveBack`'s answer. */
const release = giveBack + `
return giveBack(KEYS[1], ARGV[1], ARGV[2])
`

/** KEYS: lease. ARGV: token, PX. Returns `takeLease`'s answer. */
const acquire = takeLease + `
return takeLease(KEYS[1], ARGV[1], ARGV[2])
`

/**
 * A read of one key as `lookup` answers it: hold, partition stamp, namespace stamp (null
 * on a Cluster), Redis time (null when the key holds an entry: a hit reads no clock), then the entry's namespace stamp and JSON when present, then
 * `1` when the entry was invalidated softly by its partition or key; with a lease and
 * no entry, nulls and then whether the read took the lease (1) or found it held (0).
 *
 * @internal
 */
export type Read = [string, string, string | null, number | null, (string | null)?, (string | null)?, (1 | null)?, (0 | 1)?]

/**
 * The reply of `cachefxGet` (and each of `cachefxGetMany`'s): a `Read`, or, for an entry
 * under the current partition stamp, one string (see `lookup`), which `readOf` reads.
 *
 * @internal
 */
export type GetReply = Read | string

/**
 * The `Read` of a reply: a hit's string is `<namespace stamp> <id> <partition stamp>
 * <entry's namespace stamp> <JSON>` (stamps and ids hold no space; the namespace stamp
 * is empty on a Cluster), the key's hold being the entry's id.
 *
 * @internal
 */
export const readOf = (reply: GetReply): Read => {
  if (typeof reply !== "string") {
    return reply
  }
  const afterNamespace = reply.indexOf(" ")
  const afterId = reply.indexOf(" ", afterNamespace + 1)
  const afterPartition = reply.indexOf(" ", afterId + 1)
  const afterEntryNamespace = reply.indexOf(" ", afterPartition + 1)
  return [
    reply.slice(afterNamespace + 1, afterId),
    reply.slice(afterId + 1, afterPartition),
    afterNamespace === 0 ? null : reply.slice(0, afterNamespace),
    null,
    reply.slice(afterPartition + 1, afterEntryNamespace),
    reply.slice(afterEntryNamespace + 1)
  ]
}

/** @internal */
export interface Commands {
  /** `get`: its key count (with the lease or without), then its keys and arguments. */
  cachefxGet(numberOfKeys: number, args: ReadonlyArray<string | number>): Promise<GetReply>
  /** `getMany` over as many keys as it is told: its key count, then its keys and arguments. */
  cachefxGetMany(numberOfKeys: number, args: ReadonlyArray<string | number>): Promise<ReadonlyArray<GetReply>>
  /** `fill`: its key count (with the lease or without), then its keys and arguments. */
  cachefxFill(numberOfKeys: number, args: ReadonlyArray<string | number>): Promise<number>
  cachefxNamespace(...args: ReadonlyArray<string | number>): Promise<string>
  cachefxSoften(...args: ReadonlyArray<string | number>): Promise<number>
  cachefxSoftDelete(...args: ReadonlyArray<string | number>): Promise<number>
}

/**
 * One script on one client, as a function of its key count, keys and arguments: an `EVALSHA`
 * built directly as an ioredis `Command` (cheaper than `defineCommand`'s wrapper by
 * about 1 µs of client CPU per call, measured), then an `EVAL` of the text when Redis
 * does not know the script yet (a new or restarted server, which keeps it from then on).
 * Keys carry the client's `keyPrefix`, as those of its own commands do. Sent through the
 * client's `sender`: the scripts of one tick go in one write.
 */
const script = <A>(client: Redis | Cluster, lua: string) => {
  const sha = createHash("sha1").update(lua).digest("hex")
  const send = sendWith<A>(client)
  return (numberOfKeys: number, args: ReadonlyArray<string | number>): Promise<A> =>
    send("evalsha", sha, numberOfKeys, args).catch((error: unknown) =>
      error instanceof Error && error.message.startsWith("NOSCRIPT")
        ? send("eval", lua, numberOfKeys, args)
        : Promise.reject(error)
    )
}

/**
 * A script call as an ioredis `Command` with UTF-8 replies, through the client's
 * `sender`. Its arguments are laid out here, once: the script, the key count, the keys
 * (with the client's `keyPrefix`) and the arguments, every one a string. The `Command`
 * is made without them and given them after: its constructor copies its arguments with
 * `Array.prototype.flat`, about 0.9 µs for the ten of a read (V8's generic path), a
 * tenth of a raw `GET`'s client CPU, and prefixes keys and converts numbers, done here.
 * Its keys (a Cluster's slot) are read from `args` when first asked for.
 */
const sendWith = <A>(client: Redis | Cluster) => {
  const prefix = client.options.keyPrefix ?? ""
  const options = { replyEncoding: "utf8" as const }
  const sendCommand = sender(client)
  return (name: string, script: string, numberOfKeys: number, args: ReadonlyArray<string | number>): Promise<A> => {
    const laid = new Array<string>(args.length + 2)
    laid[0] = script
    laid[1] = String(numberOfKeys)
    for (let i = 0; i < args.length; i++) {
      laid[i + 2] = i < numberOfKeys ? prefix + args[i] : String(args[i])
    }
    const command = new Command(name, [], options)
    command.args = laid
    sendCommand(command)
    return command.promise
  }
}

/** A script of a fixed number of keys, as a function of its keys and arguments. */
const define = <A>(client: Redis | Cluster, lua: string, numberOfKeys: number) => {
  const run = script<A>(client, lua)
  return (...args: ReadonlyArray<string | number>): Promise<A> => run(numberOfKeys, args)
}

/**
 * The scripts on a client. On a single Redis the namespace stamp is one of the
 * scripts' keys; on a Cluster it is read by `cachefxNamespace` beside them.
 *
 * @internal
 */
export const register = (client: Redis | Cluster): Commands => ({
  cachefxGet: script<GetReply>(client, get),
  cachefxGetMany: script<ReadonlyArray<GetReply>>(client, getMany),
  cachefxFill: script<number>(client, fill),
  cachefxNamespace: define<string>(client, namespace, 1),
  cachefxSoften: define<number>(client, soften, 1),
  cachefxSoftDelete: define<number>(client, softDelete, 1)
})

/**
 * The lease scripts on a client: `acquire(lease key, token, PX)`, 1 when taken (a lease
 * key without expiry is taken over); `release(lease key, token, channel)`, 1 when
 * released.
 *
 * @internal
 */
export const registerLeases = (client: Redis | Cluster): {
  readonly acquire: (...args: ReadonlyArray<string | number>) => Promise<number>
  readonly release: (...args: ReadonlyArray<string>) => Promise<number>
} => ({
  acquire: define<number>(client, acquire, 1),
  release: define<number>(client, release, 1)
})
