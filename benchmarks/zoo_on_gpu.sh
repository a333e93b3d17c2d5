#!/usr/bin/env bash
# The model-zoo latency jobs that need a GPU, in one run with a time budget (seconds, default 540):
#  1. profile the zoo's models with torch on the GPU, fp32 and fp16, into a LatencyStore (round-robin over the
#     families, so a run stopped by its budget leaves them balanced) and export it;
#  2. train TART (30 epochs, $SEEDS seeds, default 5) on each zoo platform in-domain, one process per (platform, seed)
#     (benchmarks/latency_prediction.py --worker-seeds), then write the records from their checkpoint.
# Environment: PROFILE_S, GPU_PLATFORMS, PLATFORMS, SEEDS, TRAIN_DEVICE, BENCH_ARGS (e.g. "--zoo-epochs 2") change the defaults.
# Usage: bash benchmarks/zoo_on_gpu.sh OUT_DIR [BUDGET_S]. OUT_DIR gets zoo_gpu.db, zoo_gpu.jsonl.gz,
# latency_prediction.json (+ its per-seed checkpoint) and the logs. Import the export with
# 'archrep latency-dataset import --store S --file OUT_DIR/zoo_gpu.jsonl.gz'.
set -u
out=${1:?usage: zoo_on_gpu.sh OUT_DIR [BUDGET_S]}
budget=${2:-540}
mkdir -p "$out"
start=$SECONDS
left() { echo $(( budget - (SECONDS - start) )); }
py=${PYTHON:-python3}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1

# 1. profiling: alone on the machine, PROFILE_S seconds (default 40 % of the budget)
timeout -s INT ${PROFILE_S:-$(( budget * 2 / 5 ))} $py -m archrep.cli latency-dataset build --store "$out/zoo_gpu.db" \
    --per-family 200 --platforms ${GPU_PLATFORMS:-torch:fp32:1:cuda,torch:fp16:1:cuda} --no-progress > "$out/profile.log" 2>&1
echo "profiling exit $? after $(( SECONDS - start )) s" | tee -a "$out/profile.log"
$py -m archrep.cli latency-dataset export --store "$out/zoo_gpu.db" --out "$out/zoo_gpu.jsonl.gz" >> "$out/profile.log" 2>&1
$py -m archrep.cli latency-dataset info --store "$out/zoo_gpu.db" >> "$out/profile.log" 2>&1

# 2. TART on the zoo's platforms, every (platform, seed) at once
bench="$py benchmarks/latency_prediction.py --protocols in-domain --methods tart --device ${TRAIN_DEVICE:-cuda} --results $out ${BENCH_ARGS:-}"
platforms=${PLATFORMS:-ort-cpu-fp32-t1@9f37cca7,torch-cpu-fp32-t1@2a73abac,ort-cpu-int8-t1@9f37cca7,ort-cpu-fp32-t2@9f37cca7}
$py -c "from archrep import data; from archrep.data import zoo_latency; data.load(zoo_latency.NAME)"  # cache once
seeds=${SEEDS:-5}
work=$(( $(left) - 40 ))
for p in ${platforms//,/ }; do
  for s in $(seq 0 $(( seeds - 1 ))); do
    timeout -s INT $work $bench --platforms "$p" --worker-seeds $s > "$out/tart_${p%@*}_$s.log" 2>&1 &
  done
done
wait
echo "TART workers done after $(( SECONDS - start )) s"
for p in ${platforms//,/ }; do
  timeout 30 $bench --platforms "$p" --seeds $seeds --resume >> "$out/tart_records.log" 2>&1 \
    || echo "records of $p not written: seeds missing from the checkpoint" >> "$out/tart_records.log"
done
tail -n 20 "$out/tart_records.log"
