//! The stand-in Asterisk core: loads res_ami_websocket.so the way Asterisk does (placeholder).
fn main() {}
