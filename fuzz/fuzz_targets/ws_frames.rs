//! Fuzz: the WebSocket frame and message path of a client connection: tungstenite with the
//! module's configuration (limits, masking), the close code for each read error, and every text
//! message through the client's decoder in both encodings.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use res_ami_websocket::settings::Settings;
use res_ami_websocket::ws::client::Client;
use res_ami_websocket::ws::conn::{close_code_for, ws_config};
use res_ami_websocket::ws::upgrade::Encoding;
use res_ami_websocket_fuzz::MemStream;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

fuzz_target!(|data: &[u8]| {
    let settings = Settings::default();
    let stream = MemStream { input: data.to_vec(), ..MemStream::default() };
    let mut ws = WebSocket::from_raw_socket(stream, Role::Server, Some(ws_config(&settings)));
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let clients = [Client::new(peer, Encoding::Json), Client::new(peer, Encoding::Text)];
    for _ in 0..1000 {
        match ws.read() {
            Ok(Message::Text(text)) => {
                assert!(text.len() <= settings.max_message_size);
                for c in &clients {
                    let _ = c.decode(text.as_str());
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(_)) => break,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            Err(e) => {
                let (code, _) = close_code_for(&e);
                assert!(matches!(code, 1002 | 1007 | 1009 | 1011), "{e}: {code}");
                break;
            }
        }
    }
});
