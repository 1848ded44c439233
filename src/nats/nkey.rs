//! NATS nkeys (ed25519 keys in NATS's base32 text form) and `.creds` files: enough to sign a
//! server's nonce as a user (<https://docs.nats.io/running-a-nats-service/configuration/securing_nats/auth_intro/nkey_auth>),
//! and to name operators and accounts as NATS JWTs do.
#![forbid(unsafe_code)]

use ring::signature::{Ed25519KeyPair, KeyPair};

/// Prefix byte of a seed (`S...`).
const PREFIX_SEED: u8 = 18 << 3;
/// Prefix byte of a user key (`U...`).
const PREFIX_USER: u8 = 20 << 3;
/// Prefix byte of an operator key (`O...`).
const PREFIX_OPERATOR: u8 = 14 << 3;
/// Prefix byte of an account key (`A...`).
const PREFIX_ACCOUNT: u8 = 0;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// CRC-16/XMODEM, as nkeys checksum their payloads.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// RFC 4648 base32 without padding: the text form of nkeys, and of NATS JWT ids (`jti`).
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = BASE32.iter().position(|&x| x == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// base64url without padding: how NATS sends signatures, and the parts of a NATS JWT.
pub fn base64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// What a public nkey names; its first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `O...`: an operator, which signs account JWTs.
    Operator,
    /// `A...`: an account, which signs user JWTs.
    Account,
    /// `U...`: a user.
    User,
}

impl KeyKind {
    fn prefix(self) -> u8 {
        match self {
            KeyKind::Operator => PREFIX_OPERATOR,
            KeyKind::Account => PREFIX_ACCOUNT,
            KeyKind::User => PREFIX_USER,
        }
    }
}

/// A raw 32-byte ed25519 public key in NATS's text form for `kind` (`O...`, `A...`, `U...`,
/// 56 characters), as a JWT's `iss` and `sub` and a server's config name it.
pub fn encode_public(kind: KeyKind, raw: &[u8; 32]) -> String {
    encode_key(&[kind.prefix()], raw)
}

/// `prefix` + `raw` + their CRC-16 (little endian), in base32: every nkey's text form.
fn encode_key(prefix: &[u8], raw: &[u8]) -> String {
    let mut body = prefix.to_vec();
    body.extend_from_slice(raw);
    let sum = crc16(&body).to_le_bytes();
    body.extend_from_slice(&sum);
    base32_encode(&body)
}

/// A user's signing key, from its seed.
pub struct UserKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({})", self.public())
    }
}

impl UserKey {
    /// Decodes a user seed (`SU...`), checking its checksum and type.
    pub fn from_seed(seed: &str) -> Result<UserKey, String> {
        let raw = base32_decode(seed.trim()).ok_or("nkey seed: not base32")?;
        if raw.len() != 36 {
            return Err("nkey seed: wrong length".into());
        }
        let (body, sum) = raw.split_at(34);
        if crc16(body).to_le_bytes() != [sum[0], sum[1]] {
            return Err("nkey seed: bad checksum".into());
        }
        let kind = ((body[0] & 7) << 5) | (body[1] >> 3);
        if body[0] & 0xf8 != PREFIX_SEED || kind != PREFIX_USER {
            return Err("nkey seed: not a user seed (SU...)".into());
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(&body[2..])
            .map_err(|_| "nkey seed: not an ed25519 seed".to_string())?;
        Ok(UserKey { pair })
    }

    /// Encodes a raw 32-byte ed25519 seed as a user seed (`SU...`); for tests and tooling.
    pub fn encode_seed(raw: &[u8; 32]) -> String {
        encode_key(&[PREFIX_SEED | (PREFIX_USER >> 5), (PREFIX_USER & 31) << 3], raw)
    }

    /// The public user key (`U...`), as a server's `authorization { users = [{nkey: ...}] }`
    /// lists it.
    pub fn public(&self) -> String {
        encode_key(&[PREFIX_USER], self.pair.public_key().as_ref())
    }

    /// The signature of a server's nonce, as CONNECT's `sig`.
    pub fn sign(&self, nonce: &str) -> String {
        base64url(self.pair.sign(nonce.as_bytes()).as_ref())
    }
}

/// A `.creds` file's user JWT and seed.
pub fn read_creds(text: &str) -> Result<(String, UserKey), String> {
    let block = |name: &str| -> Option<String> {
        let mut lines = text.lines().map(str::trim);
        lines.find(|l| l.starts_with("-----BEGIN") && l.contains(name))?;
        lines.find(|l| !l.is_empty()).filter(|l| !l.starts_with("---")).map(str::to_string)
    };
    let jwt = block("USER JWT").ok_or("creds file: no NATS USER JWT block")?;
    let seed = block("NKEY SEED").ok_or("creds file: no USER NKEY SEED block")?;
    Ok((jwt, UserKey::from_seed(&seed)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_codecs() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(crc16(b"123456789"), 0x31c3);
    }

    #[test]
    fn seeds_round_trip_and_sign() {
        let seed = UserKey::encode_seed(&[7u8; 32]);
        assert!(seed.starts_with("SU"), "{seed}");
        let key = UserKey::from_seed(&seed).unwrap();
        assert!(key.public().starts_with('U') && key.public().len() == 56);
        let sig = key.sign("nonce");
        assert_eq!(sig.len(), 86, "64 bytes in base64url without padding");
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ED25519,
            key.pair.public_key().as_ref().to_vec(),
        );
        let raw_sig: Vec<u8> = {
            // Decode our base64url back to check the signature itself.
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut bits = 0u32;
            let mut acc = 0u32;
            let mut out = Vec::new();
            for c in sig.bytes() {
                acc = (acc << 6) | A.iter().position(|&x| x == c).unwrap() as u32;
                bits += 6;
                if bits >= 8 {
                    bits -= 8;
                    out.push((acc >> bits) as u8);
                }
            }
            out
        };
        public.verify(b"nonce", &raw_sig).unwrap();
    }

    #[test]
    fn public_keys_of_each_kind() {
        // A published pair (the Elixir nkeys library's tests, made with the Go nkeys).
        let key = UserKey::from_seed("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
            .unwrap();
        assert_eq!(key.public(), "UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L");
        let raw: [u8; 32] = key.pair.public_key().as_ref().try_into().unwrap();
        assert_eq!(encode_public(KeyKind::User, &raw), key.public());
        for (kind, letter, prefix) in [
            (KeyKind::Operator, 'O', 14 << 3),
            (KeyKind::Account, 'A', 0),
            (KeyKind::User, 'U', 20 << 3),
        ] {
            let text = encode_public(kind, &raw);
            assert!(text.starts_with(letter) && text.len() == 56, "{text}");
            let bytes = base32_decode(&text).unwrap();
            assert_eq!(bytes.len(), 35, "prefix, key, checksum");
            assert_eq!((bytes[0], &bytes[1..33]), (prefix, &raw[..]));
            assert_eq!(crc16(&bytes[..33]).to_le_bytes(), [bytes[33], bytes[34]]);
        }
    }

    #[test]
    fn bad_seeds_and_creds_are_refused() {
        let mut seed = UserKey::encode_seed(&[1u8; 32]);
        seed.replace_range(10..11, if &seed[10..11] == "A" { "B" } else { "A" });
        assert!(UserKey::from_seed(&seed).unwrap_err().contains("checksum"));
        assert!(UserKey::from_seed("not base32!").is_err());
        assert!(read_creds("nothing here").is_err());
        let creds = format!(
            "-----BEGIN NATS USER JWT-----\neyJhbGc.x.y\n------END NATS USER JWT------\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
            UserKey::encode_seed(&[2u8; 32])
        );
        let (jwt, _) = read_creds(&creds).unwrap();
        assert_eq!(jwt, "eyJhbGc.x.y");
    }
}
