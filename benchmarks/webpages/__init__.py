"""Independent evaluation of code-block extraction from web pages (SPEC.md in this folder).

Real documentation pages of this machine, grouped by the generator that built them, with
ground truth read from the HTML by this package's own parser, written into a WARC for
`stackpipe curate --source commoncrawl`; `benchmarks/eval_web.py` scores the output.
"""
