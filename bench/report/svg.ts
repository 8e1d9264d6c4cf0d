/**
 * A tiny SVG renderer of grouped horizontal bar charts: one group per figure, a cachefx
 * bar above its baseline bar, each labelled with its value. Plain strings, no library.
 */
import { escapeXml, formatValue } from "./format.js"

/** One group: a cachefx figure and its baseline, in the chart's unit. */
export interface Group {
  readonly label: string
  readonly subjectName: string
  readonly cachefx: number
  readonly baselineName: string
  readonly baseline: number
}

export interface Chart {
  readonly title: string
  readonly unit: string
  /** A log scale keeps a bar visible beside one thousands of times longer. */
  readonly scale: "linear" | "log"
  readonly groups: ReadonlyArray<Group>
}

const width = 860
const barsFrom = 16
const barsTo = 560
const barHeight = 18
const groupHeight = 20 + 2 * (barHeight + 4) + 14
const top = 54
const colors = { cachefx: "#2f6fd6", baseline: "#9aa3ad" }

/** Bar length in pixels for `value`, given the largest and smallest values of the chart. */
const lengthOf = (chart: Chart, value: number, max: number, min: number): number => {
  const span = barsTo - barsFrom
  if (chart.scale === "linear") {
    return Math.max(2, (value / max) * span)
  }
  const floor = Math.floor(Math.log10(min))
  const ceiling = Math.log10(max)
  return Math.max(2, ((Math.log10(value) - floor + 0.3) / (ceiling - floor + 0.3)) * span)
}

const bar = (y: number, length: number, color: string, text: string): string =>
  `<rect x="${barsFrom}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" rx="2" fill="${color}"/>` +
  `<text x="${(barsFrom + length + 6).toFixed(1)}" y="${y + barHeight - 5}">${escapeXml(text)}</text>`

/** The SVG document of `chart`. */
export const renderChart = (chart: Chart): string => {
  const values = chart.groups.flatMap((group) => [group.cachefx, group.baseline]).filter((value) => value > 0)
  const max = Math.max(...values)
  const min = Math.min(...values)
  const height = top + chart.groups.length * groupHeight + 10
  const groups = chart.groups.map((group, index) => {
    const y = top + index * groupHeight
    return [
      `<text x="${barsFrom}" y="${y + 14}" font-weight="bold">${escapeXml(group.label)}</text>`,
      bar(y + 20, lengthOf(chart, group.cachefx, max, min), colors.cachefx, `${group.subjectName} ${formatValue(group.cachefx)} ${chart.unit}`),
      bar(
        y + 20 + barHeight + 4,
        lengthOf(chart, group.baseline, max, min),
        colors.baseline,
        `${group.baselineName} ${formatValue(group.baseline)} ${chart.unit}`
      )
    ].join("\n")
  })
  const subtitle = `${chart.unit}${chart.scale === "log" ? ", log scale" : ""}; blue: subject (cachefx), grey: baseline of the same run`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${barsFrom}" y="24" font-size="17" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<text x="${barsFrom}" y="42" fill="#555555">${escapeXml(subtitle)}</text>`,
    ...groups,
    `</svg>`,
    ""
  ].join("\n")
}
