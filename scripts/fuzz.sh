#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, cargo-fuzz + libFuzzer) for a bounded time each and fails on any
# crash, leak, timeout or out-of-memory; the input that did it stays in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [seconds per target]      (default 60; ./scripts/test.sh passes 25)
#   FUZZ_TARGETS="json_action login" scripts/fuzz.sh 600
#
# libFuzzer needs nightly compiler flags (-Zsanitizer=address); the stable toolchain accepts them
# with RUSTC_BOOTSTRAP=1, its documented escape hatch, so no nightly toolchain is needed.
source "$(dirname "$0")/prelude.sh"
secs="${1:-60}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
	cargo install cargo-fuzz --version 0.13.2 --locked
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
failed=()
for t in $targets; do
	# The committed seeds (seed-*) start the corpus; what libFuzzer adds stays local (ignored).
	mkdir -p "corpus/$t" "artifacts/$t"
	echo "fuzz: $t for ${secs}s"
	if ! cargo fuzz run "$t" -- -max_total_time="$secs" -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 >"artifacts/$t/log.txt" 2>&1; then
		failed+=("$t")
		tail -n 40 "artifacts/$t/log.txt"
	fi
	grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "artifacts/$t/log.txt" || true
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
	exit 1
fi
echo "fuzz: every target ran ${secs}s without a crash"
