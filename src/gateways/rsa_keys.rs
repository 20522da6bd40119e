//! RSA keys for gateway signatures (SHA256withRSA, PKCS#1 v1.5), with ring.
//!
//! ring parses no PEM, and its verifier wants the inner PKCS#1 `RSAPublicKey`, so PEM is read with
//! the `pem` crate and SPKI public keys are unwrapped with `spki`.
use base64::{engine::general_purpose::STANDARD, Engine};
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM file: {0}")]
    Pem(String),
    #[error("unsupported or malformed key: {0}")]
    Key(String),
    #[error("cannot read {path}: {err}")]
    Io { path: String, err: String },
}

/// Our private key (merchant / app key): signs requests.
pub struct Signer {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// PKCS#8 (`BEGIN PRIVATE KEY`, WeChat's `apiclient_key.pem`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let p = pem::parse(text).map_err(|e| KeyError::Pem(e.to_string()))?;
        let key = match p.tag() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(p.contents()),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(p.contents()),
            other => return Err(KeyError::Key(format!("unexpected PEM block {other}"))),
        }
        .map_err(|e| KeyError::Key(e.to_string()))?;
        Ok(Self {
            key,
            rng: SystemRandom::new(),
        })
    }

    pub fn from_file(path: &str) -> Result<Self, KeyError> {
        Self::from_pem(&read(path)?)
    }

    /// base64(SHA256withRSA(message)).
    pub fn sign_b64(&self, message: &[u8]) -> Result<String, KeyError> {
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .map_err(|e| KeyError::Key(e.to_string()))?;
        Ok(STANDARD.encode(sig))
    }
}

/// A gateway's public key: verifies its answers and notifications.
#[derive(Clone)]
pub struct Verifier {
    pkcs1: Vec<u8>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(..)")
    }
}

impl Verifier {
    /// SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let p = pem::parse(text).map_err(|e| KeyError::Pem(e.to_string()))?;
        let pkcs1 = match p.tag() {
            "PUBLIC KEY" => {
                let spki =
                    spki::SubjectPublicKeyInfoRef::try_from(p.contents()).map_err(|e| KeyError::Key(e.to_string()))?;
                spki.subject_public_key.raw_bytes().to_vec()
            }
            "RSA PUBLIC KEY" => p.contents().to_vec(),
            other => return Err(KeyError::Key(format!("unexpected PEM block {other}"))),
        };
        Ok(Self { pkcs1 })
    }

    pub fn from_file(path: &str) -> Result<Self, KeyError> {
        Self::from_pem(&read(path)?)
    }

    /// True only for a valid base64 SHA256withRSA signature of `message`. Anything malformed (for
    /// instance WeChat's `WECHATPAY/SIGNTEST/` probes, which are not base64) is simply false.
    pub fn verify_b64(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(sig) = STANDARD.decode(signature_b64.trim()) else {
            return false;
        };
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.pkcs1)
            .verify(message, &sig)
            .is_ok()
    }
}

fn read(path: &str) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|e| KeyError::Io {
        path: path.to_string(),
        err: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../tests/fixtures/wechatpay_merchant_test_key.pem");
    const PUB: &str = include_str!("../../tests/fixtures/wechatpay_merchant_test_pub.pem");
    const OTHER_PUB: &str = include_str!("../../tests/fixtures/wechatpay_platform_test_pub.pem");

    #[test]
    fn signs_and_verifies_and_refuses_garbage() {
        let s = Signer::from_pem(KEY).unwrap();
        let v = Verifier::from_pem(PUB).unwrap();
        let sig = s.sign_b64(b"hello\n").unwrap();
        assert!(v.verify_b64(b"hello\n", &sig));
        assert!(!v.verify_b64(b"hello", &sig));
        assert!(!Verifier::from_pem(OTHER_PUB).unwrap().verify_b64(b"hello\n", &sig));
        assert!(!v.verify_b64(b"hello\n", "WECHATPAY/SIGNTEST/abc"));
        assert!(!v.verify_b64(b"hello\n", ""));
        assert!(Signer::from_pem(PUB).is_err());
        assert!(Verifier::from_pem("not pem").is_err());
    }
}
