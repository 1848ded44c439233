#!/usr/bin/env bash
# Builds res_ami_websocket and installs it into the running Asterisk (the equivalent of
# `make install` + `module load`): the .so into Asterisk's module directory, the sample config
# into its config directory when there is none yet, then loads (or reloads) the module.
# Directories are asked from Asterisk itself (`core show settings`); override them with
# ASTERISK_MODDIR / ASTERISK_CONFDIR.
source "$(dirname "$0")/prelude.sh"
cargo build --release
settings=$(asterisk -rx 'core show settings')
moddir=${ASTERISK_MODDIR:-$(printf '%s\n' "$settings" | sed -n 's/^ *Module directory: *//p')}
conffile=$(printf '%s\n' "$settings" | sed -n 's/^ *Configuration file: *//p')
confdir=${ASTERISK_CONFDIR:-$(dirname "${conffile:-/etc/asterisk/asterisk.conf}")}
[ -d "$moddir" ] || { echo "module directory '$moddir' not found" >&2; exit 1; }
install -m 0755 target/release/libres_ami_websocket.so "$moddir/res_ami_websocket.so"
if [ ! -e "$confdir/ami_websocket.conf" ]; then
	install -m 0640 configs/ami_websocket.conf.sample "$confdir/ami_websocket.conf"
fi
if asterisk -rx 'module show like res_ami_websocket' | grep -q 'Running'; then
	# A loaded module keeps running its old code until unloaded: unload, then load the new one.
	asterisk -rx 'module unload res_ami_websocket.so'
fi
asterisk -rx 'module load res_ami_websocket.so'
asterisk -rx 'ws show status'
