#!/usr/bin/env bash
# Fuzzes the parser (`parse`) and the whole parse + map + encode path (`parse_map`) for SECONDS each
# (default 600), starting from the seeds in fuzz/seeds. Needs cargo-fuzz (installed when missing);
# libFuzzer's instrumentation needs nightly features, which RUSTC_BOOTSTRAP enables on stable.
# Not part of CI: it runs for minutes. Crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
for target in parse parse_map; do
  mkdir -p "fuzz/corpus/$target"
  cp -n fuzz/seeds/* "fuzz/corpus/$target/"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1
done
