#!/usr/bin/env bash
# The module under valgrind memcheck (tests/valgrind_module.rs): the stand-in core loads the .so
# under valgrind through load/unload/reload cycles, plain and TLS clients, then stops; fails on
# any invalid access or a leak that grows with cycles or connections. Logs: target/valgrind-*.log.
source "$(dirname "$0")/prelude.sh"
AMI_WS_VALGRIND=1 timeout 900 cargo test --release --test valgrind_module -- --nocapture
