"""Benchmarks; run `.venv/bin/python -m bench.georeport --help`. Output goes to bench/out/."""
