//! The CONNECT line: client facts and credentials (user/password, token, nkey or creds file),
//! read and checked once at load so a bad file is refused with the reason.
#![forbid(unsafe_code)]

use serde_json::{Map, Value, json};

use super::nkey::{UserKey, read_creds};
use super::settings::{NatsSettings, ServerUrl};

/// How the publisher proves who it is.
#[derive(Debug)]
pub enum Auth {
    /// No credentials (or those in each URL).
    None,
    /// `user` / `password`.
    User(String, String),
    /// `token`.
    Token(String),
    /// `nkey_seed_file`: sign the nonce, send the public key.
    Nkey(UserKey),
    /// `creds_file`: sign the nonce, send the user JWT.
    Creds(String, UserKey),
}

impl Auth {
    /// Credentials from the settings (reads the seed or creds file).
    pub fn from_settings(s: &NatsSettings) -> Result<Auth, String> {
        if !s.user.is_empty() {
            return Ok(Auth::User(s.user.clone(), s.password.clone()));
        }
        if !s.token.is_empty() {
            return Ok(Auth::Token(s.token.clone()));
        }
        let read = |path: &str, what: &str| {
            std::fs::read_to_string(path).map_err(|e| format!("{what} {path}: {e}"))
        };
        if !s.nkey_seed_file.is_empty() {
            let text = read(&s.nkey_seed_file, "nkey_seed_file")?;
            let key = UserKey::from_seed(text.trim())
                .map_err(|e| format!("nkey_seed_file {}: {e}", s.nkey_seed_file))?;
            return Ok(Auth::Nkey(key));
        }
        if !s.creds_file.is_empty() {
            let text = read(&s.creds_file, "creds_file")?;
            let (jwt, key) =
                read_creds(&text).map_err(|e| format!("creds_file {}: {e}", s.creds_file))?;
            return Ok(Auth::Creds(jwt, key));
        }
        Ok(Auth::None)
    }
}

/// The CONNECT JSON for `server`, whose INFO was `info`.
pub fn connect_json(
    auth: &Auth,
    server: &ServerUrl,
    info: &Value,
    tls: bool,
    name: &str,
) -> String {
    let mut m = Map::new();
    m.insert("verbose".into(), json!(false));
    m.insert("pedantic".into(), json!(false));
    m.insert("tls_required".into(), json!(tls));
    m.insert("name".into(), json!(name));
    m.insert("lang".into(), json!("rust-res_ami_websocket"));
    m.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    m.insert("protocol".into(), json!(1));
    m.insert("echo".into(), json!(false));
    m.insert("headers".into(), json!(true));
    m.insert("no_responders".into(), json!(true));
    let nonce = info.get("nonce").and_then(Value::as_str).unwrap_or_default();
    match auth {
        Auth::User(u, p) => {
            m.insert("user".into(), json!(u));
            m.insert("pass".into(), json!(p));
        }
        Auth::Token(t) => {
            m.insert("auth_token".into(), json!(t));
        }
        Auth::Nkey(key) => {
            m.insert("nkey".into(), json!(key.public()));
            m.insert("sig".into(), json!(key.sign(nonce)));
        }
        Auth::Creds(jwt, key) => {
            m.insert("jwt".into(), json!(jwt));
            m.insert("sig".into(), json!(key.sign(nonce)));
        }
        Auth::None => {
            if let Some((u, p)) = &server.user {
                m.insert("user".into(), json!(u));
                m.insert("pass".into(), json!(p));
            }
        }
    }
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::settings::parse_url;

    #[test]
    fn connect_carries_the_chosen_credentials() {
        let url = parse_url("nats://u1:p1@h").unwrap();
        let info = json!({"nonce": "abc", "headers": true});
        let v: Value =
            serde_json::from_str(&connect_json(&Auth::None, &url, &info, false, "n")).unwrap();
        assert_eq!((v["user"].as_str(), v["pass"].as_str()), (Some("u1"), Some("p1")));
        assert_eq!(v["headers"], true);
        let v: Value =
            serde_json::from_str(&connect_json(&Auth::Token("t".into()), &url, &info, true, "n"))
                .unwrap();
        assert_eq!(v["auth_token"], "t");
        assert!(v.get("user").is_none());
        let key = UserKey::from_seed(&UserKey::encode_seed(&[3u8; 32])).unwrap();
        let public = key.public();
        let v: Value =
            serde_json::from_str(&connect_json(&Auth::Nkey(key), &url, &info, false, "n")).unwrap();
        assert_eq!(v["nkey"], public.as_str());
        assert_eq!(v["sig"].as_str().map(str::len), Some(86));
    }

    #[test]
    fn unreadable_files_are_named() {
        let s = NatsSettings { creds_file: "/nonexistent/x.creds".into(), ..Default::default() };
        let e = Auth::from_settings(&s).unwrap_err();
        assert!(e.contains("creds_file /nonexistent/x.creds"), "{e}");
    }
}
