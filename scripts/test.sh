#!/usr/bin/env bash
# The whole check: formatting, clippy with warnings denied, then every test (unit, the stand-in
# core integration tests, and the opt-in real-Asterisk tests, which skip without AMI_WS_ASTERISK).
source "$(dirname "$0")/prelude.sh"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo build --release
# Library, stand-in and integration tests (no doc-tests: the crate has none).
log=$(mktemp)
cargo test --release --lib --bins --tests -- --test-threads=2 2>&1 | tee "$log"
# One closing line for the whole run.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
rm -f "$log"
