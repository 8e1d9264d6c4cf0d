#!/usr/bin/env bash
# The consumer test: cachefx as a user gets it. Builds and packs every public package,
# installs the tarballs with the peers of the root README's Install lines (from the
# registry, so the newest releases in each documented range) into a fresh project
# outside the workspace, typechecks it (strict, NodeNext, libraries' .d.ts included),
# runs with plain `node` the README's Quick start and the first Redis, Drizzle and HTTP
# snippets of the package READMEs, and runs `npx cachefx rules` on a TypeScript module.
#
# Needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (db `test`), as the
# tests do. Prints one line per step and then `consumer: N passed, N failed`; exits
# non-zero when a step failed. KEEP=1 keeps the project (its path is printed).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/cachefx-consumer.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
app=$work/app
tarballs=$work/tarballs
schema="cachefx_consumer_$$"
passed=0
failed=0
started=$SECONDS

say() { printf '[consumer] %s\n' "$*"; }
finish() {
  say "$((SECONDS - started)) s in all; project in $work"
  echo "consumer: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}
# step <name> <command...>: one test; its output is shown when it fails
step() {
  local name=$1 at=$SECONDS
  shift
  if "$@" >"$work/step.log" 2>&1; then
    passed=$((passed + 1))
    say "ok   $name ($((SECONDS - at)) s)"
  else
    failed=$((failed + 1))
    say "FAIL $name ($((SECONDS - at)) s)"
    tail -n 60 "$work/step.log" | sed 's/^/    /'
    return 1
  fi
}

public_packages() { # the workspace packages that are not private, as name<TAB>directory
  for manifest in packages/*/package.json; do
    node -e '
      const pkg = require(require("path").resolve(process.argv[1]))
      if (pkg.private !== true) console.log(`${pkg.name}\t${require("path").dirname(process.argv[1])}`)
    ' "$manifest"
  done
}

pack() {
  mkdir -p "$tarballs"
  local workspaces
  workspaces=$(public_packages | cut -f1 | sed 's/^/-w /')
  npm pack --silent --pack-destination "$tarballs" $workspaces >/dev/null
}

# every tarball: a LICENSE, built code and types, no build state, no tests
clean_tarballs() {
  local ok=0
  for tarball in "$tarballs"/*.tgz; do
    local files
    files=$(tar tzf "$tarball")
    for wanted in package/LICENSE package/dist/index.js package/dist/index.d.ts; do
      grep -qx "$wanted" <<<"$files" || { echo "$(basename "$tarball"): no $wanted"; ok=1; }
    done
    if grep -E '\.tsbuildinfo$|^package/test/|^package/build/' <<<"$files"; then
      echo "$(basename "$tarball"): ships the files above"
      ok=1
    fi
  done
  return $ok
}

# the `npm i` lines of the README's Install section, one word a line, @cachefx/* as tarballs
install_specs() {
  awk '/^## Install/ { on = 1; next } /^## / { on = 0 } on && /^```sh/ { block = 1; next } on && /^```/ { block = 0 } on && block' README.md |
    sed 's/#.*//' | grep -E '^npm i ' | tr -s ' ' '\n' | grep -vxE 'npm|i|-D|' |
    while read -r spec; do
      case "$spec" in
        @cachefx/*)
          local file
          file=$(ls "$tarballs"/cachefx-"${spec#@cachefx/}"-*.tgz 2>/dev/null) || { echo "no tarball for $spec" >&2; return 1; }
          echo "$file" ;;
        *) echo "$spec" ;;
      esac
    done
}

install() {
  local specs
  specs=$(install_specs) || return 1
  # every public package has an install line
  public_packages | while IFS=$'\t' read -r name _; do
    grep -q "/cachefx-${name#@cachefx/}-" <<<"$specs" || { echo "the README's Install lines do not install $name"; exit 1; }
  done || return 1
  mkdir -p "$app"
  printf '{ "name": "consumer", "private": true, "type": "module" }\n' >"$app/package.json"
  echo "npm i" $specs
  # the project's own tools: not part of the recipe
  (cd "$app" && npm i --no-audit --no-fund $specs typescript@~5.9.3 @types/node@^20 @types/pg@^8)
}

sources() {
  mkdir -p "$app/src"
  cp scripts/consumer/tsconfig.json "$app/" && cp scripts/consumer/rules.ts "$app/src/" &&
    node scripts/consumer/snippets.mjs "$root" "$app/src"
}

# tsc with skipLibCheck off, so cachefx's own .d.ts are checked as the consumer sees them
# (a type package they need and do not bring is an error there); the errors inside other
# libraries' .d.ts (drizzle-orm's for the drivers not installed) are theirs, and left out
typecheck() {
  local errors ours
  errors=$(cd "$app" && npx --no-install tsc -p tsconfig.json --pretty false)
  ours=$(grep -E 'error TS' <<<"$errors" | grep -vE '^node_modules/' ; grep -E '^node_modules/@cachefx/.*error TS' <<<"$errors")
  echo "$(grep -c 'error TS' <<<"$errors") errors in all, in other libraries' .d.ts but for these:"
  echo "$ours"
  [ -z "$ours" ] && [ -f "$app/dist/quick-start.js" ]
}

run() { # run <program>: node on the compiled program, with the services the snippets use
  (cd "$app" && REDIS_URL=redis://127.0.0.1:6379 CACHEFX_KEY_PREFIX="cachefx-consumer-$$" CONSUMER_SCHEMA="$schema" \
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D$schema" \
    timeout 60 node "dist/$1.js")
}

rules() { # the bin of the @cachefx/cli tarball, on a TypeScript module
  local out
  out=$(cd "$app" && timeout 60 npx --no-install cachefx rules --format json src/rules.ts) || return 1
  echo "$out"
  node -e '
    const d = JSON.parse(process.argv[1])
    if (d.tables[0]?.table !== "users" || d.tables[0].rules[0]?.cache !== "users") process.exit(1)
  ' "$out"
}

say "in $work"
step "build" npm run build || finish
step "pack every public package" pack || finish
step "tarballs: LICENSE, dist, no .tsbuildinfo, no tests" clean_tarballs
step "install the tarballs with the README's Install lines" install || finish
step "write the README snippets" sources || finish
step "typecheck (strict, NodeNext, cachefx's .d.ts included)" typecheck || finish
for program in quick-start redis drizzle http; do
  step "node dist/$program.js" run "$program"
done
step "npx cachefx rules src/rules.ts" rules
finish
