#!/bin/sh
# Every run behind bench/RESULTS.md, one after another, on a clean snapshot
# of a commit (other engineers edit the working tree while we measure).
# Usage: sh bench/measure_all.sh [commit] [prefix]: HEAD and s3_ by default.
# Writes bench/results/<prefix>*.json and .txt in this checkout, then the
# chart (session 2's figures, s2_*, against these). Profiles run warm
# (10,000 intents first, unmeasured) except the *_cold runs.
set -e
cd "$(dirname "$0")/.."
repo=$(pwd)
commit=$(git rev-parse --short "${1:-HEAD}")
prefix=${2:-s3_}
snap=$(mktemp -d /tmp/bench_snap_XXXXXX)
git archive "$commit" | tar -x -C "$snap"
ln -s "$repo/node_modules" "$snap/node_modules"
out="$repo/bench/results"
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
node_modules/.bin/deno run -A bench/chart.ts --chart bench/results.svg \
  bench/results/s2_single.json "bench/results/${prefix}single.json" \
  "bench/results/${prefix}batch.json" "bench/results/${prefix}longpoll.json" \
  --label "session 2 (559b494), single, cold" --label "now, single, warm" \
  --label "now, batch" --label "now, longpoll"
rm -rf "$snap"
