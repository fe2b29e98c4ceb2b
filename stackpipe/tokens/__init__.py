"""Tokenizer, fill-in-the-middle and training-shard writers."""
