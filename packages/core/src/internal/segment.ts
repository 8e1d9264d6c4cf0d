import { CacheDefinitionError } from "../CacheError.js"

const reserved = /[:{}*?[\]\\\s]/

/**
 * Checks a name that becomes part of every key (prefix, namespace, version).
 *
 * @internal
 */
export const validateSegment = (subject: string, value: string): string => {
  if (value.length === 0) {
    throw new CacheDefinitionError({ subject, reason: "must not be empty" })
  }
  const match = reserved.exec(value)
  if (match !== null) {
    throw new CacheDefinitionError({
      subject,
      reason: `"${value}" contains ${JSON.stringify(match[0])}, which keys reserve; ` +
        "use letters, digits and . _ - / only"
    })
  }
  return value
}
