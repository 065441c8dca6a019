"""Benchmarks: each module runs with ``python -m bench.<name>`` (or all with
``make bench``), prints its figures beside a baseline measured in the same run,
and writes them to ``bench/results/<name>.json``."""
