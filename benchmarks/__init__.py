"""restrat benchmarks: `make bench` (python -m benchmarks). Each figure is printed beside a naive baseline
measured in the same run, because this shared machine is noisy: ratios hold, absolute times drift."""
