#!/bin/sh
# Every run behind bench/RESULTS.md, one after another, on a clean snapshot
# of a commit (other engineers edit the working tree while we measure).
# Usage: sh bench/measure_all.sh [commit] (HEAD by default). Writes
# bench/results/final_*.json and .txt in this checkout, then the chart.
set -e
cd "$(dirname "$0")/.."
repo=$(pwd)
commit=$(git rev-parse --short "${1:-HEAD}")
snap=$(mktemp -d /tmp/bench_snap_XXXXXX)
git archive "$commit" | tar -x -C "$snap"
ln -s "$repo/node_modules" "$snap/node_modules"
out="$repo/bench/results"
cd "$snap"
export BENCH_COMMIT="$commit"
run() { # name, flags...
  name=$1
  shift
  echo "== $name: deno task profiles $*" | tee "$out/final_$name.txt"
  node_modules/.bin/deno run -A bench/run_profiles.ts "$@" \
    --out "$out/final_$name.json" 2>&1 | tee -a "$out/final_$name.txt"
}
run single --profile all --ceilings --costs --publisher-under-poll || true
run batch --profile heavy,extreme --mode batch || true
run longpoll --profile heavy,extreme --mode longpoll || true
run longpoll20k --profile heavy,extreme --mode longpoll --intents 20000 || true
run heavy3 --profile heavy,heavy,heavy || true
run q1k_other --profile heavy --queued 1000 --queued-goal other || true
run q1m_other --profile heavy --queued 1000000 --queued-goal other \
  --timeout 60 || true
run q1k_same --profile heavy --queued 1000 --queued-goal same || true
run q1m_same --profile heavy --queued 1000000 --queued-goal same \
  --timeout 60 || true
node_modules/.bin/deno run -A bench/claim_plan.ts --queued 1000000 \
  --goal same > "$out/final_claim_plan.txt" 2>&1 || true
cd "$repo"
node_modules/.bin/deno run -A bench/chart.ts --chart bench/results.svg \
  bench/results/main.json bench/results/final_single.json \
  bench/results/final_batch.json bench/results/final_longpoll.json \
  --label "before (b8b9442, single)" --label "now, single" \
  --label "now, batch" --label "now, longpoll"
rm -rf "$snap"
