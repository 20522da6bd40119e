//! Personal data at rest (PIPL) and session tokens, all with ring.
//!
//! Two keys are derived from `security.data_key` with HKDF-SHA256: one encrypts phone numbers with
//! AES-256-GCM under a fresh random nonce each time, the other keys an HMAC-SHA256 blind index so a
//! phone can be looked up without storing it in clear.
use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::{aead, digest, hkdf, hmac, rand::SecureRandom, rand::SystemRandom};

/// Why the data key or a ciphertext was refused.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("security.data_key must be base64 of exactly 32 bytes")]
    BadKey,
    #[error("ciphertext could not be decrypted")]
    Decrypt,
    #[error("random generator failed")]
    Random,
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

fn derive(prk: &hkdf::Prk, info: &'static [u8]) -> Result<[u8; 32], CryptoError> {
    let mut out = [0u8; 32];
    let infos = [info];
    prk.expand(&infos, Len32)
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| CryptoError::BadKey)?;
    Ok(out)
}

/// Encrypts, decrypts and indexes personal data under keys derived from the data key.
pub struct DataCipher {
    enc: aead::LessSafeKey,
    index: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataCipher(..)")
    }
}

impl DataCipher {
    /// Builds the cipher from the base64 `security.data_key`.
    pub fn from_base64_key(key_b64: &str) -> Result<Self, CryptoError> {
        let raw = STANDARD.decode(key_b64.trim()).map_err(|_| CryptoError::BadKey)?;
        if raw.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"wuye data key v1").extract(&raw);
        let enc_key = derive(&prk, b"wuye/pii/aes-256-gcm")?;
        let index_key = derive(&prk, b"wuye/pii/blind-index")?;
        let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, &enc_key).map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            enc: aead::LessSafeKey::new(unbound),
            index: hmac::Key::new(hmac::HMAC_SHA256, &index_key),
            rng: SystemRandom::new(),
        })
    }

    /// A fresh random data key, base64 (used by `--demo`).
    pub fn generate_key_b64() -> Result<String, CryptoError> {
        let mut raw = [0u8; 32];
        SystemRandom::new().fill(&mut raw).map_err(|_| CryptoError::Random)?;
        Ok(STANDARD.encode(raw))
    }

    /// `base64(nonce || ciphertext || tag)`; the nonce is random, so equal inputs encrypt differently.
    pub fn encrypt(&self, plain: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut buf = plain.as_bytes().to_vec();
        self.enc
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(b"wuye-pii"),
                &mut buf,
            )
            .map_err(|_| CryptoError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(STANDARD.encode(out))
    }

    pub fn decrypt(&self, sealed_b64: &str) -> Result<String, CryptoError> {
        let raw = STANDARD.decode(sealed_b64).map_err(|_| CryptoError::Decrypt)?;
        if raw.len() < aead::NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, body) = raw.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
        let mut body = body.to_vec();
        let plain = self
            .enc
            .open_in_place(nonce, aead::Aad::from(b"wuye-pii"), &mut body)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Decrypt)
    }

    /// Deterministic keyed index (hex HMAC-SHA256) for equality look-ups.
    pub fn blind_index(&self, plain: &str) -> String {
        hex::encode(hmac::sign(&self.index, plain.as_bytes()).as_ref())
    }
}

/// A new session token: 256 random bits, URL-safe base64.
pub fn new_token() -> Result<String, CryptoError> {
    let mut raw = [0u8; 32];
    SystemRandom::new().fill(&mut raw).map_err(|_| CryptoError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// What the store keeps instead of a token: a dump of it yields no usable token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cipher() -> DataCipher {
        DataCipher::from_base64_key(&DataCipher::generate_key_b64().unwrap()).unwrap()
    }

    #[test]
    fn same_phone_encrypts_differently_and_round_trips() {
        let c = cipher();
        let a = c.encrypt("13800000001").unwrap();
        let b = c.encrypt("13800000001").unwrap();
        assert_ne!(a, b);
        assert_eq!(c.decrypt(&a).unwrap(), "13800000001");
        assert_eq!(c.blind_index("13800000001"), c.blind_index("13800000001"));
        assert_ne!(c.blind_index("13800000001"), c.blind_index("13800000002"));
    }

    #[test]
    fn tampered_ciphertext_and_other_keys_fail() {
        let c = cipher();
        let sealed = c.encrypt("13800000001").unwrap();
        let mut raw = STANDARD.decode(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(c.decrypt(&STANDARD.encode(raw)).is_err());
        assert!(cipher().decrypt(&sealed).is_err());
        assert!(DataCipher::from_base64_key("c2hvcnQ=").is_err());
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let t = new_token().unwrap();
        assert!(t.len() >= 43);
        assert_ne!(t, new_token().unwrap());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }
}
