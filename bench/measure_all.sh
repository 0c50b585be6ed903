#!/bin/sh
# Every run behind bench/RESULTS.md, one after another, on a clean snapshot
# of a commit (other engineers edit the working tree while we measure).
usage="Usage: sh bench/measure_all.sh [--force] [commit] [prefix]

Runs every measurement behind bench/RESULTS.md on a git archive snapshot of
commit (default HEAD) and writes bench/results/<prefix><name>.json and .txt
for each, then the chart bench/results/<prefix>results.svg (session 2's
s2_single against this run). Profiles run warm (10,000 intents first,
unmeasured) except the *_cold runs.

The prefix defaults to run_<UTC date and time>_, which no committed file
uses. If any file bench/results/<prefix>* exists already (the committed s3_
results, say), nothing runs unless --force is given, which overwrites them.
To make a run the published one, commit its files and copy its chart over
bench/results.svg."
fail() { # message
  echo "error: $1" >&2
  exit 2
}
force=
commit=
prefix=
for arg in "$@"; do
  case $arg in
  --force) force=1 ;;
  -h | --help)
    echo "$usage"
    exit 0
    ;;
  -*) fail "unknown option: $arg (see --help)" ;;
  *)
    if [ -z "$commit" ]; then
      commit=$arg
    elif [ -z "$prefix" ]; then
      prefix=$arg
    else
      fail "one commit and one prefix, not also: $arg (see --help)"
    fi
    ;;
  esac
done
set -e
cd "$(dirname "$0")/.."
repo=$(pwd)
rev=${commit:-HEAD}
commit=$(git rev-parse --short --verify --quiet "$rev^{commit}") ||
  fail "not a commit of this repository: $rev"
prefix=${prefix:-run_$(date -u +%Y%m%d_%H%M%S)_}
case $prefix in
*[!A-Za-z0-9._-]*) fail "a prefix is letters, digits, '.', '_' and '-': $prefix" ;;
esac
out="$repo/bench/results"
if [ -z "$force" ]; then
  for f in "$out/$prefix"*; do
    if [ -e "$f" ]; then
      fail "${f#"$repo"/} exists: choose a new prefix, or --force to overwrite"
    fi
  done
fi
echo "Measuring $commit into bench/results/$prefix*"
snap=$(mktemp -d /tmp/bench_snap_XXXXXX)
trap 'rm -rf "$snap"' EXIT
git archive "$commit" | tar -x -C "$snap"
ln -s "$repo/node_modules" "$snap/node_modules"
cd "$snap"
export BENCH_COMMIT="$commit"
run() { # name, flags...
  name=$1
  shift
  echo "== $name: deno task profiles $*" | tee "$out/$prefix$name.txt"
  node_modules/.bin/deno run -A bench/run_profiles.ts "$@" \
    --out "$out/$prefix$name.json" 2>&1 | tee -a "$out/$prefix$name.txt"
}
run single --profile all --ceilings --costs --publisher-under-poll || true
run single_cold --profile all --warmup 0 || true
run single20k --profile heavy,extreme --intents 20000 || true
run publishers5 --profile heavy,extreme --intents 20000 --publishers 5 || true
run batch --profile heavy,extreme --mode batch --intents 40000 || true
run longpoll --profile heavy,extreme --mode longpoll --intents 40000 || true
run heavy3 --profile heavy,heavy,heavy || true
run q1k_other --profile heavy --queued 1000 --queued-goal other || true
run q1m_other --profile heavy --queued 1000000 --queued-goal other \
  --timeout 60 || true
run q1k_same --profile heavy --queued 1000 --queued-goal same || true
run q1m_same --profile heavy --queued 1000000 --queued-goal same \
  --timeout 60 || true
# The PostgreSQL store: a durable throwaway cluster, a database per server.
run pg_heavy3 --postgres --profile heavy,heavy,heavy || true
run pg_batch --postgres --profile heavy --mode batch --intents 20000 || true
run pg_longpoll --postgres --profile heavy --mode longpoll --intents 20000 \
  || true
node_modules/.bin/deno run -A bench/claim_plan.ts --queued 1000000 \
  --goal same > "$out/${prefix}claim_plan.txt" 2>&1 || true
node_modules/.bin/deno run -A bench/idle_worker.ts \
  --out "$out/${prefix}idle.json" > "$out/${prefix}idle.txt" 2>&1 || true
for key in master issued; do
  flag=$([ "$key" = issued ] && echo --issued || true)
  for i in 1 2 3; do
    echo "$key: $(node_modules/.bin/deno run -A bench/app_cpu.ts $flag)"
  done
done > "$out/${prefix}app_cpu.txt" 2>&1 || true
cd "$repo"
node_modules/.bin/deno run -A bench/chart.ts \
  --chart "bench/results/${prefix}results.svg" \
  bench/results/s2_single.json "bench/results/${prefix}single.json" \
  "bench/results/${prefix}batch.json" "bench/results/${prefix}longpoll.json" \
  --label "session 2 (559b494), single, cold" --label "now, single, warm" \
  --label "now, batch" --label "now, longpoll"
