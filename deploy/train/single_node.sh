#!/usr/bin/env bash
# One machine, all its GPUs (or N CPU ranks with DEVICE=cpu NPROC=N).
#   deploy/train/single_node.sh --data out/demo/shards --output runs/sc2-3b --family starcoder2 \
#       --preset 3b --steps 100000 --seq-len 16384 --micro-batch 1 --grad-accum 8
# Rerunning the same command resumes from the run's latest checkpoint.
set -euo pipefail
NPROC=${NPROC:-$(python -c 'import torch; print(max(torch.cuda.device_count(), 1))')}
exec torchrun --standalone --nproc-per-node="$NPROC" -m stackpipe.train --device "${DEVICE:-auto}" "$@"
