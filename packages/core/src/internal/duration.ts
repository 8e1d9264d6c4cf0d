import * as Duration from "effect/Duration"
import { CacheDefinitionError } from "../CacheError.js"

/**
 * A duration of a cache definition, decoded: throws a `CacheDefinitionError` naming
 * `subject` for one that is malformed, negative or not a number.
 *
 * @internal
 */
export const checkedDuration = (subject: string, input: Duration.DurationInput): Duration.Duration => {
  const duration = Duration.decodeUnknown(input)
  if (duration._tag === "None" || (typeof input === "number" && (!Number.isFinite(input) || input < 0))) {
    throw new CacheDefinitionError({
      subject,
      reason: `${JSON.stringify(String(input))} is not a duration; give a non-negative number of ` +
        `milliseconds, a string such as "5 minutes", or a Duration`
    })
  }
  return duration.value
}
