import { type Cluster, Command, type Redis } from "ioredis"
import { createHash } from "node:crypto"

/**
 * The Lua scripts of the store, sent by `EVALSHA` (and `EVAL` when Redis does not
 * know them yet).
 *
 * Stored values:
 * - an entry: `<id> <partition stamp> <namespace stamp> <json>`;
 * - a tombstone (left by an exact-key delete for the fill window): `~<id>`;
 * - anything else is foreign (other bytes, or a key of another Redis type, which
 *   `GET` refuses): never served, reported, replaced by the next fill.
 *
 * What a key holds is named by its "hold": `""` (absent), the entry's id, the whole
 * tombstone, or `"?"` (foreign). A fill stores only while the key holds what the read
 * saw, the stamps are unchanged and the fill window (on the Redis clock) has not
 * passed.
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
  if px < 0 then
    redis.call('PERSIST', key)
    return
  end
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 and ttl < px + window then redis.call('PEXPIRE', key, px + window) end
end
local function read(key)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' and v.err then return '?' end
  return v
end
local function inspect(v)
  if not v then return '' end
  local _, last, id, p, n = string.find(v, '^(%w+) (%w+) (%w+) ')
  if id then return id, p, n, last + 1 end
  if string.find(v, '^~%w+$') then return v end
  return '?'
end
`

/**
 * KEYS: entry, partition stamp[, namespace stamp]. ARGV: fresh stamp, fill window.
 * Returns `{hold, partition stamp, namespace stamp, Redis time}`, followed by the
 * entry's namespace stamp and JSON when it was filled under the current partition
 * stamp. Missing stamps are created, so every reader of a scope sees one stamp.
 */
const get = prelude + `
local window = tonumber(ARGV[2])
local now = clock()
local p = stamp(KEYS[2], ARGV[1], window)
local n = false
if KEYS[3] then n = stamp(KEYS[3], ARGV[1], window) end
local v = read(KEYS[1])
local hold, ep, en, start = inspect(v)
if ep == p then return {hold, p, n, now, en, string.sub(v, start)} end
return {hold, p, n, now}
`

/**
 * KEYS: entry, partition stamp[, namespace stamp]. ARGV: hold, partition stamp,
 * namespace stamp, read time, fill window, entry id, PX (-1: none), JSON.
 * Returns 1 when stored. Stamps are kept alive at least as long as the entry.
 */
const fill = prelude + `
local window = tonumber(ARGV[5])
if clock() - tonumber(ARGV[4]) > window then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if KEYS[3] and redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
if inspect(read(KEYS[1])) ~= ARGV[1] then return 0 end
local px = tonumber(ARGV[7])
local value = ARGV[6] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[8]
if px < 0 then
  redis.call('SET', KEYS[1], value)
else
  redis.call('SET', KEYS[1], value, 'PX', px)
end
keep(KEYS[2], px, window)
if KEYS[3] then keep(KEYS[3], px, window) end
return 1
`

/**
 * The namespace stamp on a Cluster, where it lives in a slot of its own.
 * KEYS: namespace stamp. ARGV: fresh stamp, fill window[, PX of a fill (-1: none)].
 * Returns the stamp, created when missing and kept alive for the fill when given.
 */
const namespace = prelude + `
local window = tonumber(ARGV[2])
local s = stamp(KEYS[1], ARGV[1], window)
if ARGV[3] then keep(KEYS[1], tonumber(ARGV[3]), window) end
return s
`

/**
 * KEYS: lease. ARGV: token, channel. Deletes the lease only while `token` holds it, then
 * publishes the lease's key on the channel (waiters wake). Returns 1 when released.
 */
const release = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], KEYS[1])
return 1
`

/**
 * The reply of `cachefxGet`: hold, partition stamp, namespace stamp (null on a
 * Cluster), Redis time, then the entry's namespace stamp and JSON when present.
 *
 * @internal
 */
export type GetReply = [string, string, string | null, number, string?, string?]

/** @internal */
export interface Commands {
  cachefxGet(...args: ReadonlyArray<string | number>): Promise<GetReply>
  cachefxFill(...args: ReadonlyArray<string | number>): Promise<number>
  cachefxNamespace(...args: ReadonlyArray<string | number>): Promise<string>
}

/**
 * One script on one client, as a function of its keys and arguments: an `EVALSHA`
 * built directly as an ioredis `Command` (cheaper than `defineCommand`'s wrapper by
 * about 1 µs of client CPU per call, measured), then an `EVAL` of the text when Redis
 * does not know the script yet (a new or restarted server, which keeps it from then on).
 * Keys carry the client's `keyPrefix`, as those of its own commands do.
 */
const define = <A>(client: Redis | Cluster, lua: string, numberOfKeys: number) => {
  const sha = createHash("sha1").update(lua).digest("hex")
  const prefix = client.options.keyPrefix
  const options = prefix === undefined ? { replyEncoding: "utf8" as const } : { replyEncoding: "utf8" as const, keyPrefix: prefix }
  const send = (name: string, body: string, args: ReadonlyArray<string | number>): Promise<A> => {
    const command = new Command(name, [body, numberOfKeys, ...args], options)
    client.sendCommand(command)
    return command.promise
  }
  return (...args: ReadonlyArray<string | number>): Promise<A> =>
    send("evalsha", sha, args).catch((error: unknown) =>
      error instanceof Error && error.message.startsWith("NOSCRIPT") ? send("eval", lua, args) : Promise.reject(error)
    )
}

/**
 * The scripts on a client. On a single Redis the namespace stamp is one of the
 * scripts' keys; on a Cluster it is read by `cachefxNamespace` beside them.
 *
 * @internal
 */
export const register = (client: Redis | Cluster): Commands => {
  const keys = client.isCluster ? 2 : 3
  return {
    cachefxGet: define<GetReply>(client, get, keys),
    cachefxFill: define<number>(client, fill, keys),
    cachefxNamespace: define<string>(client, namespace, 1)
  }
}

/**
 * The lease release script on a client: `(lease key, token, channel)`, 1 when released.
 *
 * @internal
 */
export const registerRelease = (client: Redis | Cluster): (...args: ReadonlyArray<string>) => Promise<number> =>
  define<number>(client, release, 1)
