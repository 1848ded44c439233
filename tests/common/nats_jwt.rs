//! NATS operator mode for tests: fresh keys, JWT v2 signed as nats-io/jwt does, nsc-style `.creds`.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use res_ami_websocket::nats::nkey::{KeyKind, UserKey, base32_encode, base64url, encode_public};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

/// A fresh ed25519 key of one kind.
pub struct Key {
    seed: [u8; 32],
    pair: Ed25519KeyPair,
    /// The public key in NATS text form (`O...`, `A...`, `U...`).
    pub public: String,
}

impl Key {
    /// A new random key.
    pub fn generate(kind: KeyKind) -> Key {
        let mut seed = [0u8; 32];
        SystemRandom::new().fill(&mut seed).expect("random seed");
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("ed25519 key from seed");
        let raw: &[u8; 32] = pair.public_key().as_ref().try_into().expect("32-byte public key");
        Key { public: encode_public(kind, raw), seed, pair }
    }

    /// A JWT v2 about `subject`, issued (signed) by this key. `nats` holds the claim's own
    /// fields; `type` and `version` are added. As nats-io/jwt's `ClaimsData.doEncode`: `jti` is
    /// base32 (no padding) of SHA-512/256 over the standard claims without `jti`, the signature
    /// is ed25519 over `header.claims`, every part base64url without padding.
    fn issue(&self, subject: &str, name: &str, kind: &str, mut nats: Value) -> String {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
        // Go marshals ClaimsData in field order, empty fields left out.
        let standard = json!({"iat": iat, "iss": self.public, "name": name, "sub": subject});
        let digest =
            ring::digest::digest(&ring::digest::SHA512_256, standard.to_string().as_bytes());
        let jti = base32_encode(digest.as_ref());
        nats["type"] = json!(kind);
        nats["version"] = json!(2);
        let claims = json!({
            "jti": jti, "iat": iat, "iss": self.public, "name": name, "sub": subject, "nats": nats,
        });
        let header = json!({"typ": "JWT", "alg": "ed25519-nkey"});
        let signed = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let sig = self.pair.sign(signed.as_bytes());
        format!("{signed}.{}", base64url(sig.as_ref()))
    }
}

/// An account's claims: unlimited, as nsc makes one; JetStream unlimited too when asked (the
/// system account may not have it).
fn account_claims(jetstream: bool) -> Value {
    let mut limits = json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
    });
    if jetstream {
        for k in ["mem_storage", "disk_storage", "streams", "consumer"] {
            limits[k] = json!(-1);
        }
    }
    json!({"limits": limits, "default_permissions": {"pub": {}, "sub": {}}})
}

/// An operator (self-signed JWT) naming a system account (nats-server's JetStream needs one),
/// and one account for applications, both signed by the operator (as `nsc add operator --sys`
/// and `nsc add account` make them).
pub struct Operator {
    /// The operator JWT, as nats-server's `operator:` takes it.
    jwt: String,
    /// The system account's public key and JWT.
    system: (String, String),
    /// The application account's key (signs its users).
    pub account: Key,
    /// The application account's JWT.
    account_jwt: String,
}

impl Operator {
    /// Fresh keys and JWTs.
    pub fn new() -> Operator {
        let key = Key::generate(KeyKind::Operator);
        let sys = Key::generate(KeyKind::Account);
        let jwt = key.issue(
            &key.public,
            "test operator",
            "operator",
            json!({"system_account": sys.public}),
        );
        let sys_jwt = key.issue(&sys.public, "SYS", "account", account_claims(false));
        let account = Key::generate(KeyKind::Account);
        let account_jwt = key.issue(&account.public, "AMI", "account", account_claims(true));
        Operator { jwt, system: (sys.public, sys_jwt), account, account_jwt }
    }

    /// nats-server config: trust this operator; its accounts preloaded in a memory resolver.
    pub fn server_config(&self) -> String {
        format!(
            "operator: {}\nresolver: MEMORY\nresolver_preload: {{\n  {}: {}\n  {}: {}\n}}\n",
            self.jwt, self.system.0, self.system.1, self.account.public, self.account_jwt
        )
    }
}

/// A user with a fresh key and a JWT issued by an account.
pub struct User {
    /// The user's key.
    pub key: Key,
    /// The user JWT.
    pub jwt: String,
}

impl User {
    /// A user of `account` (whose key signs the JWT).
    pub fn new(account: &Key, name: &str) -> User {
        let key = Key::generate(KeyKind::User);
        let limits = json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1});
        let jwt = account.issue(&key.public, name, "user", limits);
        User { key, jwt }
    }

    /// The user's seed (`SU...`).
    pub fn seed(&self) -> String {
        UserKey::encode_seed(&self.key.seed)
    }

    /// This user's `.creds` file.
    pub fn creds(&self) -> String {
        creds(&self.jwt, &self.seed())
    }

    /// CONNECT fields proving this user to a server that sent `info` (its nonce signed).
    pub fn connect_fields(&self, info: &Value) -> Value {
        let nonce = info["nonce"].as_str().expect("a nonce in INFO (server with auth)");
        let key = UserKey::from_seed(&self.seed()).expect("our own user seed");
        json!({"jwt": self.jwt, "sig": key.sign(nonce)})
    }
}

/// A `.creds` file as nsc writes it (nats-io/jwt `FormatUserConfig`).
pub fn creds(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}
