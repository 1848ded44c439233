//! Fuzz: the login path of a fresh connection (Challenge, plain and MD5 Login, anything sent
//! before login) against a manager.conf with ACLs. Input: `\0`-separated fields: username,
//! secret or key, AuthType, an extra action name; the first byte picks the sequence.
#![no_main]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use res_ami_websocket::ami::accounts::ManagerConf;
use res_ami_websocket::ami::login::{LoginRateLimiter, RateLimitConfig};
use res_ami_websocket::ami::message::Message;
use res_ami_websocket::events::ring::EventLog;
use res_ami_websocket::ws::client::{Client, Ctx};
use res_ami_websocket::ws::upgrade::Encoding;
use res_ami_websocket_fuzz::raw_config;

const MANAGER_CONF: &str = "[general]\nenabled = yes\n[admin]\nsecret = adminpw\nread = all\n\
write = all\n[lan]\nsecret = lanpw\ndeny = 0.0.0.0/0.0.0.0\npermit = 10.0.0.0/255.0.0.0\n\
read = call\n[md5]\nsecret = s3cr3t\nread = system,call\nwrite = originate\n";

fn accounts() -> &'static ManagerConf {
    static CONF: OnceLock<ManagerConf> = OnceLock::new();
    CONF.get_or_init(|| ManagerConf::from_raw(&raw_config(MANAGER_CONF)).expect("fixed conf"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let mut f = text.split('\0');
    let (user, key, auth, extra) = (
        f.next().unwrap_or(""),
        f.next().unwrap_or(""),
        f.next().unwrap_or(""),
        f.next().unwrap_or("Ping"),
    );
    let log = EventLog::new(16, Box::new(|| {}));
    let mut limiter = LoginRateLimiter::new(RateLimitConfig::default());
    let online = HashMap::new();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let mut client = Client::new(peer, if mode & 1 == 0 { Encoding::Json } else { Encoding::Text });
    let mut ctx = Ctx {
        accounts: accounts(),
        log: &log,
        limiter: &mut limiter,
        online: &online,
        now: Instant::now(),
    };
    let mut steps = Vec::new();
    if mode & 2 != 0 {
        steps.push(Message::from_pairs(&[("Action", extra), ("ActionID", "0")]));
    }
    if mode & 4 != 0 {
        steps.push(Message::from_pairs(&[("Action", "Challenge"), ("AuthType", auth)]));
    }
    let secret_field = if mode & 8 != 0 { "Key" } else { "Secret" };
    steps.push(Message::from_pairs(&[
        ("Action", "Login"),
        ("Username", user),
        (secret_field, key),
        ("AuthType", auth),
        ("ActionID", "1"),
    ]));
    steps.push(Message::from_pairs(&[("Action", extra), ("ActionID", "2")]));
    for m in steps {
        let _ = client.handle(m, &mut ctx);
    }
    let _ = client.take_due(Instant::now() + std::time::Duration::from_secs(5));
});
