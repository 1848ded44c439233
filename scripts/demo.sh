#!/usr/bin/env bash
# The demo: builds the module and the stand-in Asterisk core, then runs the module inside it
# with simulated calls. Open the printed URL, log in as demo / demo, and watch events arrive.
# Type stand-in commands at the prompt (ws show clients, traffic rate 5, core stop now, ...).
source "$(dirname "$0")/prelude.sh"
cargo build --release
etc=$(mktemp -d /tmp/amiws-demo.XXXXXX)
cp demo/manager.conf demo/ami_websocket.conf "$etc/"
cat <<MSG

  res_ami_websocket demo (stand-in Asterisk core, simulated calls)
  Open   http://127.0.0.1:8765/   and log in as  demo / demo   (or operator / operator)
  Commands: ws show clients | ws show status | traffic rate 5 | traffic off | core stop now

MSG
exec target/release/asterisk-standin --config-dir "$etc" \
	--module target/release/libres_ami_websocket.so --load --verbose 3 --traffic 1
