/**
 * Spawns `leaseChild.ts` as a separate process (an application instance) and follows
 * what it prints: used by the lease tests and by `bench/tiers/stampede.ts`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import type { Outcome, Plan, Round } from "./leaseChild.js"

export type { Outcome, Plan }

export class Instance {
  private readonly child: ChildProcess
  private readonly lines: Array<string> = []
  private readonly listeners = new Set<(line: string) => void>()
  private readonly exited: Promise<void>

  constructor(plan: Plan) {
    this.child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@cachefx/source", fileURLToPath(new URL("./leaseChild.ts", import.meta.url)), JSON.stringify(plan)],
      { stdio: ["pipe", "pipe", "inherit"] }
    )
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()))
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      this.lines.push(line)
      this.listeners.forEach((listener) => listener(line))
    })
  }

  /** Resolves once the process has printed `line`. */
  printed(line: string): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.lines.includes(line)) {
          this.listeners.delete(check)
          resolve()
        }
      }
      this.listeners.add(check)
      check()
    })
  }

  /** Whether the process has printed `line` yet. */
  hasPrinted(line: string): boolean {
    return this.lines.includes(line)
  }

  /** Plays a round: its outcome, or a rejection when the process ends first. */
  play(round: Round): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const listener = (line: string) => {
        if (line.startsWith("result ")) {
          const outcome: Outcome = JSON.parse(line.slice("result ".length))
          if (outcome.round === round.round) {
            this.listeners.delete(listener)
            resolve(outcome)
          }
        }
      }
      this.listeners.add(listener)
      this.exited.then(() => reject(new Error(`instance ended before round ${round.round}`)))
      this.child.stdin!.write(JSON.stringify(round) + "\n")
    })
  }

  /** Kills the process at once (SIGKILL), as a crash would. */
  kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL")
    }
    return this.exited
  }
}
