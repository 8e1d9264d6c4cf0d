#!/usr/bin/env bash
# The Drizzle suite (vitest project `drizzle`) on the lowest and the highest drizzle-orm that
# @cachefx/drizzle's peer range allows, each one the lockfile does not already install (the
# main test run covers that one). Each version is unpacked from the registry into
# node_modules/drizzle-orm in place of the lockfile's copy (drizzle-orm has no dependencies),
# and that copy is put back at the end, on failure or interrupt too: package.json,
# package-lock.json and node_modules end as they were.
# Prints `drizzle-range: N passed, N failed` (vitest's tests over the versions run; a version
# that could not be installed, or a run that wrote no results, counts as one failed test).
# Usage: bash scripts/drizzle-range.sh [range]   (default: the peer range of packages/drizzle)
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf '[drizzle-range] %s\n' "$*"; }
range=${1:-$(node -p 'require("./packages/drizzle/package.json").peerDependencies["drizzle-orm"]')}
installed=$(node -p 'require("./node_modules/drizzle-orm/package.json").version')

if find packages -maxdepth 3 -path '*/node_modules/drizzle-orm' | grep -q .; then
  say "a package has a drizzle-orm of its own: swapping the root copy would not test it"
  echo "drizzle-range: 0 passed, 1 failed"
  exit 1
fi

# the lowest and the highest version in the range (npm lists them in publication order)
if ! listed=$(npm view "drizzle-orm@$range" version --json 2>/dev/null) || [ -z "$listed" ]; then
  say "npm view drizzle-orm@$range failed"
  echo "drizzle-range: 0 passed, 1 failed"
  exit 1
fi
ends=$(node -e '
  const listed = JSON.parse(process.argv[1])
  const key = (v) => v.split(/[.+-]/).slice(0, 3).map(Number).concat(v.includes("-") ? 0 : 1)
  const compare = (a, b) => { const [x, y] = [key(a), key(b)]; const i = x.findIndex((n, j) => n !== y[j]); return i < 0 ? 0 : x[i] - y[i] }
  const sorted = [].concat(listed).sort(compare)
  console.log([...new Set([sorted[0], sorted[sorted.length - 1]])].join(" "))
' "$listed")
others=$(for version in $ends; do [ "$version" != "$installed" ] && echo "$version"; done)
say "peer range $range: lowest and highest ${ends// / and }; the lockfile installs $installed"
if [ -z "$others" ]; then
  say "nothing else to run: the main test run covered drizzle-orm $installed"
  echo "drizzle-range: 0 passed, 0 failed"
  exit 0
fi

work=$(mktemp -d)
mv node_modules/drizzle-orm "$work/lockfile-copy" || { echo "drizzle-range: 0 passed, 1 failed"; exit 1; }
restore() {
  rm -rf node_modules/drizzle-orm
  mv "$work/lockfile-copy" node_modules/drizzle-orm
  rm -rf "$work"
}
trap restore EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
status=0
for version in $others; do
  start=$SECONDS
  rm -rf node_modules/drizzle-orm "$work/package"
  if ! tarball=$(cd "$work" && npm pack "drizzle-orm@$version" --silent 2>/dev/null) ||
    ! tar -xzf "$work/$tarball" -C "$work" || ! mv "$work/package" node_modules/drizzle-orm; then
    say "drizzle-orm $version could not be installed"
    failed=$((failed + 1)); status=1
    continue
  fi
  say "drizzle-orm $(node -p 'require("./node_modules/drizzle-orm/package.json").version'): npx vitest run --project drizzle"
  results="$work/results-$version.json"
  npx vitest run --project drizzle --reporter=default --reporter=json --outputFile="$results" || status=1
  if [ -s "$results" ]; then
    read -r p f < <(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
      const broken = r.testResults.filter((file) => file.status === "failed" && file.assertionResults.length === 0).length
      console.log(r.numPassedTests, r.numFailedTests + broken)
    ' "$results")
  else
    say "vitest wrote no results for drizzle-orm $version"
    p=0; f=1; status=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
  say "drizzle-orm $version: $p passed, $f failed in $((SECONDS - start)) s"
done

echo "drizzle-range: $passed passed, $failed failed"
exit "$status"
