/**
 * Log sequence numbers: PostgreSQL writes them `XXXXXXXX/XXXXXXXX` (two 32-bit halves in
 * hexadecimal); here they are bigints, so they compare and step exactly.
 */

/** @internal */
export const parse = (text: string): bigint => {
  const [high, low] = text.split("/")
  return (BigInt(`0x${high ?? "0"}`) << 32n) | BigInt(`0x${low ?? "0"}`)
}

/** @internal */
export const format = (lsn: bigint): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`

const pageSize = 8192n
const shortPageHeader = 24n

/**
 * The position a reader that has read every record inserted so far has reached, from
 * `pg_current_wal_insert_lsn()`. That function skips the header of a page the next record
 * will start on; a reader that has read everything stops before it, at the page's start.
 *
 * @internal
 */
export const endOfInserted = (insert: bigint): bigint =>
  insert % pageSize === shortPageHeader ? insert - shortPageHeader : insert
