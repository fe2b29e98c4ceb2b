#!/usr/bin/env bash
# Run this same command on every node. NNODES, NODE_RANK and MASTER_ADDR come from your
# scheduler (or set them by hand); the run directory must be on storage all nodes share,
# since every rank writes its part of each checkpoint there.
#   NNODES=4 NODE_RANK=0 MASTER_ADDR=10.0.0.1 deploy/train/multi_node.sh --data ... --output /shared/runs/x ...
set -euo pipefail
: "${NNODES:?set NNODES}" "${NODE_RANK:?set NODE_RANK}" "${MASTER_ADDR:?set MASTER_ADDR}"
NPROC=${NPROC:-$(python -c 'import torch; print(max(torch.cuda.device_count(), 1))')}
exec torchrun --nnodes="$NNODES" --node-rank="$NODE_RANK" --nproc-per-node="$NPROC" \
    --rdzv-backend=c10d --rdzv-endpoint="$MASTER_ADDR:${MASTER_PORT:-29500}" --rdzv-id="${RUN_ID:-stackpipe}" \
    -m stackpipe.train "$@"
