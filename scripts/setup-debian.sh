#!/usr/bin/env bash
# Installs what building and testing res_ami_websocket needs on Debian 12 (run as root).
set -euo pipefail
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
export PATH="$HOME/.cargo/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive
need=()
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The TLS test makes its certificates with openssl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The browser test (tests/browser_page.rs) drives headless Chromium over DevTools.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# scripts/valgrind.sh runs the module under valgrind; libFuzzer (scripts/fuzz.sh) needs a C++ compiler.
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v g++ >/dev/null 2>&1 || need+=(g++)
# The Autobahn conformance test (tests/ws_autobahn.rs) runs kosoku from a virtualenv.
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# The reverse-proxy test (tests/behind_proxy.rs) runs a real nginx in front of the module.
{ command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 || need+=(nginx)
# The web client tests (node --test web/test/) need Node 18 or newer.
command -v node >/dev/null 2>&1 || need+=(nodejs)
# The NATS publisher's tests (tests/nats_publish.rs) start a real nats-server with JetStream.
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
# tests/ws_security.rs runs fail2ban-regex with Debian's stock asterisk filter. Installing the
# package does not start its service where policy-rc.d forbids it (containers, CI).
{ command -v fail2ban-regex >/dev/null 2>&1 && [ -f /etc/fail2ban/filter.d/asterisk.conf ]; } \
	|| need+=(fail2ban)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
	echo "cargo is required (rustup toolchain 1.85 or newer)" >&2
	exit 1
fi
# kosoku (PyPI, pinned): runs the Autobahn WebSocket case files; only when missing.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$root/.venv/bin/kosoku" ]; then
	python3 -m venv "$root/.venv"
	"$root/.venv/bin/pip" install -q kosoku==0.1.0
fi
# cargo-fuzz (crates.io, pinned) for scripts/fuzz.sh; not needed when fuzzing is switched off.
if [ "${AMI_WS_FUZZ_SECONDS:-}" != 0 ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
	cargo install cargo-fuzz --version 0.13.2 --locked
fi
