"""The bundled trainer (DESIGN.md §7). Reads only shard directories; never the pipeline."""

from __future__ import annotations


def load_checkpoint(path):
    """The model of a checkpoint, in eval mode: `model(input_ids) -> logits`, `model.config`.

    A damaged checkpoint raises `stackpipe.train.checkpoint.CheckpointError` (a ValueError)
    naming the file at fault.
    """
    from stackpipe.train.export import load_checkpoint as load

    return load(path)


__all__ = ["load_checkpoint"]
