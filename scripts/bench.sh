#!/usr/bin/env bash
# Measures stprobe against OpenOCD and pyOCD on the simulated bench: one
# simulated server with one modelled clock, its cost log read after each
# client. Run from the repository root (make bench builds stprobe first);
# flags go to the measuring program, e.g. scripts/bench.sh -pace
# (see: go run ./internal/peerbench -h).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
[ -x bin/stprobe ] || "$GO" build -o bin/stprobe .
exec "$GO" run ./internal/peerbench -stprobe bin/stprobe -openocd-cfg testdata/stm32h5-openocd.cfg "$@"
