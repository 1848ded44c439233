#!/usr/bin/env bash
# The whole check: formatting, clippy with warnings denied, then every test (unit, the stand-in
# core integration tests, and the opt-in real-Asterisk tests, which skip without AMI_WS_ASTERISK).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo build --release
cargo test --release -- --test-threads=2
