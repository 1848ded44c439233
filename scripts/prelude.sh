# Sourced by the scripts in this directory: strict mode, cargo on PATH, the repository root as
# the working directory, and (as root on Debian) the build and test dependencies installed.
set -euo pipefail
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "$(id -u)" = 0 ]; then
	./scripts/setup-debian.sh
fi
