/** Number formatting shared by the report's tables and charts. */

/** A figure as people read it: whole numbers with separators, three digits when small. */
export const formatValue = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3)

/** `cachefx / baseline` as a factor; far below 1 it reads as "N× less". */
export const formatRatio = (ratio: number): string =>
  ratio < 0.1 ? `1/${formatValue(1 / ratio)}` : `${ratio.toFixed(2)}×`

/**
 * Whether `ratio` meets a target such as "≤ 2×", "≥ 0.8×" or "≥ 1000× faster" (faster:
 * baseline / cachefx); undefined for a target of another form.
 */
export const meetsTarget = (ratio: number, target: string): boolean | undefined => {
  const match = target.match(/^(≤|≥) ([\d.]+)×( faster)?$/)
  if (match === null) {
    return undefined
  }
  const factor = match[3] === undefined ? ratio : 1 / ratio
  return match[1] === "≤" ? factor <= Number(match[2]) : factor >= Number(match[2])
}

/** Escapes text for SVG and HTML. */
export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
