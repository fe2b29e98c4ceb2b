"""`stackpipe train` and `stackpipe export-hf`.

`stackpipe train ... --nproc N` starts N local ranks through torchrun itself; under an
existing torchrun (`torchrun --nproc-per-node N -m stackpipe.train ...`, multi-node,
Slurm) the ranks come from torchrun's environment and `--nproc` is not needed.
"""

from __future__ import annotations

import argparse
import os
import sys

from stackpipe.train.models import FAMILIES


def parse_blend(text: str) -> tuple[tuple[str, float], ...]:
    from stackpipe.train.data import blend_spec

    return tuple(blend_spec(text))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackpipe train", description="Pretrain a code model on stackpipe shards.")
    parser.add_argument("--data", required=True, metavar="DIR[:W],...",
                        help="shard directories with blend weights, e.g. out/code:0.6,out/math:0.1,out/text:0.3")
    parser.add_argument("--output", required=True, metavar="DIR", help="run directory (checkpoints, metrics); "
                        "an existing run resumes from its latest checkpoint")
    parser.add_argument("--family", required=True, choices=FAMILIES)
    parser.add_argument("--preset", default="debug", help="model size, e.g. debug, 1b, 7b (default debug)")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                        help="end this run after STEP (e.g. a job's time slot); rerun the command to resume")
    parser.add_argument("--vocab-size", type=int, default=None, metavar="N",
                        help="model vocabulary rows (default: the preset's published size; for a model trained "
                        "from scratch with a larger tokenizer)")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=4, help="sequences per rank per micro step")
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup-steps", type=int, default=2000)
    parser.add_argument("--min-lr-ratio", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                        help="also save a checkpoint every N steps (one is always saved when the run ends)")
    parser.add_argument("--no-final-checkpoint", action="store_true",
                        help="do not save a checkpoint when the run ends (throughput tests, throwaway runs)")
    parser.add_argument("--parallel", choices=("fsdp", "ddp"), default="fsdp")
    parser.add_argument("--tp", type=int, default=1, metavar="N",
                        help="tensor-parallel group size: N consecutive ranks split each block (default 1)")
    parser.add_argument("--dp-shard", type=int, default=None, metavar="N",
                        help="FSDP2 data-parallel shards (default: world size / --tp); --tp x --dp-shard must "
                        "equal the world size")
    parser.add_argument("--compile", action="store_true", help="torch.compile each transformer block")
    parser.add_argument("--activation-checkpointing", action="store_true")
    parser.add_argument("--document-masking", action="store_true",
                        help="tokens attend only within their own document inside a packed sequence")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--peak-tflops", type=float, default=None, help="per-device peak for MFU (default: by GPU name)")
    parser.add_argument("--nproc", type=int, default=1, help="local ranks to start through torchrun")
    return parser


def train_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.nproc > 1 and "RANK" not in os.environ:
        from torch.distributed.run import main as torchrun

        forwarded = [a for i, a in enumerate(argv) if not _is_nproc(argv, i)]
        torchrun(["--standalone", f"--nproc-per-node={args.nproc}", "-m", "stackpipe.train", *forwarded])
        return 0
    from stackpipe.train.train import TrainConfig, train

    config = TrainConfig(
        data=parse_blend(args.data), output=args.output, family=args.family, preset=args.preset,
        steps=args.steps, stop_at=args.stop_at, seq_len=args.seq_len, micro_batch=args.micro_batch, grad_accum=args.grad_accum,
        lr=args.lr, warmup_steps=args.warmup_steps, min_lr_ratio=args.min_lr_ratio, weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, seed=args.seed, checkpoint_every=args.checkpoint_every,
        final_checkpoint=not args.no_final_checkpoint, parallel=args.parallel, tp=args.tp, dp_shard=args.dp_shard,
        compile=args.compile, activation_checkpointing=args.activation_checkpointing,
        document_masking=args.document_masking, device=args.device, log_every=args.log_every,
        peak_tflops=args.peak_tflops,
        model_overrides={} if args.vocab_size is None else {"vocab_size": args.vocab_size})
    train(config)
    return 0


def _is_nproc(argv: list[str], index: int) -> bool:
    """`--nproc N` / `--nproc=N` (and its value) are for this launcher, not the ranks."""
    arg = argv[index]
    return arg == "--nproc" or arg.startswith("--nproc=") or (index > 0 and argv[index - 1] == "--nproc")


def export_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stackpipe export-hf",
                                     description="Checkpoint -> Hugging Face model directory of the family's class.")
    parser.add_argument("checkpoint", help="run directory (its latest checkpoint) or checkpoints/step-N")
    parser.add_argument("output", help="directory to write (config.json, model.safetensors, tokenizer)")
    args = parser.parse_args(argv)
    from stackpipe.train.export import export_hf

    path = export_hf(args.checkpoint, args.output)
    print(f"stackpipe export-hf: wrote {path}", file=sys.stderr)
    return 0
