#!/usr/bin/env bash
# The whole check: formatting, clippy with warnings denied, then every test (unit, the stand-in
# core integration tests, and the opt-in real-Asterisk tests, which skip without AMI_WS_ASTERISK).
source "$(dirname "$0")/prelude.sh"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo build --release
# The web client library and state store (node:test; the end-to-end test uses the release build).
node --test web/test/
# Types: the JS checked against its .d.ts with TypeScript from npm, in a throwaway directory.
if command -v npm >/dev/null 2>&1; then
	[ -x target/web-tsc/node_modules/.bin/tsc ] ||
		npm install --prefix target/web-tsc --no-save --no-audit --no-fund --silent typescript@5
	target/web-tsc/node_modules/.bin/tsc -p web/tools/tsconfig.json
	echo "web types: tsc --noEmit passed"
else
	echo "skipped: tsc check of web/ (npm not installed)"
fi
# Library, stand-in and integration tests (no doc-tests: the crate has none).
log=$(mktemp)
cargo test --release --lib --bins --tests -- --test-threads=2 2>&1 | tee "$log"
# One closing line for the whole run.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
rm -f "$log"
