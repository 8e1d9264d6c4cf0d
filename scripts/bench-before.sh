#!/usr/bin/env bash
# Builds another commit of cachefx next to this checkout, for `npm run bench:versions`:
# a detached git worktree at DIR (default ../cachefx-before) whose packages are its own
# and whose every other dependency is this checkout's, so the two builds share one copy
# of effect, drizzle-orm and pg in the process that compares them.
#
#   bash scripts/bench-before.sh main~5 /tmp/before
#   BENCH_BEFORE=/tmp/before npm run bench:versions
set -euo pipefail
rev="${1:?usage: scripts/bench-before.sh REV [DIR]}"
root="$(git rev-parse --show-toplevel)"
dir="$(realpath -m "${2:-$root/../cachefx-before}")"
if [ -e "$dir" ]; then
  git -C "$root" worktree remove --force "$dir" 2>/dev/null || rm -rf "$dir"
fi
git -C "$root" worktree add --detach --quiet "$dir" "$rev"
mkdir -p "$dir/node_modules/@cachefx"
for entry in "$root"/node_modules/* "$root"/node_modules/.bin; do
  name="$(basename "$entry")"
  [ "$name" = "@cachefx" ] || ln -s "$entry" "$dir/node_modules/$name"
done
for package in "$dir"/packages/*/; do
  ln -s "../../packages/$(basename "$package")" "$dir/node_modules/@cachefx/$(basename "$package")"
done
for modules in "$root"/packages/*/node_modules; do
  [ -d "$modules" ] && ln -s "$modules" "$dir/packages/$(basename "$(dirname "$modules")")/node_modules"
done
(cd "$dir" && npx tsc -b tsconfig.build.json)
echo "built $(git -C "$dir" rev-parse --short HEAD) in $dir"
