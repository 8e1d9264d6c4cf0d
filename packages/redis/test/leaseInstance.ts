/**
 * Spawns `leaseChild.ts` as a separate process (an application instance) and follows
 * what it prints: used by the lease tests and by `bench/tiers/stampede.ts`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import type { Outcome, Plan } from "./leaseChild.js"

export type { Outcome, Plan }

export class Instance {
  private readonly child: ChildProcess
  private readonly lines: Array<string> = []
  private readonly listeners = new Set<() => void>()
  /** Resolves with the outcome, or rejects when the process ends without one. */
  readonly outcome: Promise<Outcome>

  constructor(plan: Plan) {
    this.child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=source", fileURLToPath(new URL("./leaseChild.ts", import.meta.url)), JSON.stringify(plan)],
      { stdio: ["pipe", "pipe", "inherit"] }
    )
    this.outcome = new Promise((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).on("line", (line) => {
        this.lines.push(line)
        this.listeners.forEach((listener) => listener())
        if (line.startsWith("result ")) resolve(JSON.parse(line.slice("result ".length)))
      })
      this.child.on("exit", (code, signal) => reject(new Error(`instance exited (${code ?? signal}) without a result`)))
    })
    // a killed instance has no outcome: that is only an error for whoever awaits it
    this.outcome.catch(() => {})
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

  /** Lets the instance make its calls. */
  go(): void {
    this.child.stdin!.write("go\n")
  }

  /** Kills the process at once (SIGKILL), as a crash would. */
  kill(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve()
      this.child.once("exit", () => resolve())
      this.child.kill("SIGKILL")
    })
  }
}
