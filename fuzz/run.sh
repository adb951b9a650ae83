#!/usr/bin/env bash
# Runs every fuzzer for SECONDS each (600 by default), one after another, and prints
# each one's executions and coverage. Usage: bash fuzz/run.sh [SECONDS] [TARGET...]
# Needs nightly and cargo-fuzz: rustup toolchain install nightly; cargo install cargo-fuzz.
# A failure leaves its input in fuzz/artifacts/TARGET/ and stops the script.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire_frame command filter update aggregate index_scan geo_index)
mkdir -p logs
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  seeds=()
  # The frame-level fuzzers start from messages recorded from real drivers.
  case "$target" in wire_frame | command) seeds=(seeds/wire) ;; esac
  cargo +nightly fuzz run -O "$target" "corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
    >"logs/$target.log" 2>&1 || { tail -40 "logs/$target.log"; exit 1; }
  done_line="$(grep -E '^#[0-9]+\s+DONE' "logs/$target.log" | tail -1)"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$target.log")"
  echo "$target: $runs executions in ${seconds} s; ${done_line#*DONE   }"
done
