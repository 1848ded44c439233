#!/usr/bin/env bash
# The demo: builds the module and the stand-in Asterisk core, then runs the module inside it
# with a simulated PBX (phones 100-109, queue support, parking lot default) and random calls
# with their full life cycle. Open the printed URL, log in as demo / demo (or viewer / viewer,
# read-only), and watch. Type stand-in commands at the prompt (see tests/host/README.md).
source "$(dirname "$0")/prelude.sh"
cargo build --release
etc=$(mktemp -d /tmp/amiws-demo.XXXXXX)
cp demo/manager.conf demo/ami_websocket.conf "$etc/"
cat <<MSG

  res_ami_websocket demo (stand-in Asterisk core, simulated PBX with random calls)
  Open   http://127.0.0.1:8765/   and log in as  demo / demo   (or viewer / viewer: read-only)
  World: phones 100-109, queue support (members 100-103, 103 paused), parking lot 701-720
  Commands: standin call 100 101 | standin show world | standin hold <uniqueid>
            standin queue-call support 105 | standin park <uniqueid> | standin world reset
            traffic rate 0.5 | traffic off | ws show clients | core stop now

MSG
exec target/release/asterisk-standin --config-dir "$etc" \
	--module target/release/libres_ami_websocket.so --load --verbose 3 --traffic 0.3
