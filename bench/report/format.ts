/** Number formatting of the report's tables and charts: the harness's own, and escaping for SVG. */
export { formatRatio, formatValue, meetsTarget } from "../harness.js"

/** Escapes text for SVG and HTML. */
export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
