import type * as Schema from "effect/Schema"
import { hashText } from "./keyEncoding.js"

/**
 * The key slice that fingerprints the shape of a value Schema: `#$` and the first 8
 * characters of the SHA-256 (base64url) of the Schema's AST as JSON, which describes
 * every property, type, refinement and transformation by name. `#$` starts no other
 * slice. A deploy that changes what is stored gives new keys, so an entry of the old
 * shape is never decoded as the new one.
 *
 * @internal
 */
export const fingerprintSlice = (schema: Schema.Schema.Any): string =>
  "#$" + hashText(JSON.stringify(schema.ast)).slice(0, 8)
