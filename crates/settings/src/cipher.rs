//! [`TokenCipher`]: repository access tokens encrypted at rest.
//!
//! XChaCha20-Poly1305 because its 24-byte nonce can be drawn at random for every encryption
//! without a realistic chance of reuse (a 12-byte nonce cannot, and reuse breaks the cipher),
//! and because it authenticates: a wrong key or a changed byte fails loudly instead of
//! decrypting to garbage that is then sent to a git host as a token.
//!
//! Stored form: `v1:` + base64(nonce ‖ ciphertext‖tag). The version prefix lets a later key
//! rotation or cipher change recognise old rows. An optional *context* (for example the
//! repository id) is bound in as associated data, so a ciphertext copied to another row does
//! not decrypt there.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use thiserror::Error;

use specline_error_codes::{ErrorClass, ErrorCode};

use crate::error::{Origin, SettingsCode, SettingsError};
use crate::keys::SECURITY_ENCRYPTION_KEY;
use crate::secret::Secret;
use crate::value::decode_key32;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Encryption or decryption failed. Messages never contain the key or the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CipherError {
    /// The stored value cannot be decrypted with this key (wrong key, tampered or truncated
    /// data, another context, or not a value this cipher wrote).
    #[error("DECRYPT_FAILED: {0}")]
    Decrypt(String),
    /// The cipher refused the input (only for absurdly long plaintexts).
    #[error("ENCRYPT_FAILED: the plaintext could not be encrypted")]
    Encrypt,
}

impl CipherError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The error's code in the list.
    pub fn kind(&self) -> SettingsCode {
        match self {
            CipherError::Decrypt(_) => SettingsCode::DecryptFailed,
            CipherError::Encrypt => SettingsCode::EncryptFailed,
        }
    }
}

impl ErrorCode for CipherError {
    fn code(&self) -> &'static str {
        CipherError::code(self)
    }

    /// The same key and the same stored value fail the same way every time.
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// Encrypts and decrypts stored repository access tokens under `security.encryption_key`.
pub struct TokenCipher {
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

impl TokenCipher {
    /// A cipher under `key` (base64 of 32 bytes). A malformed key is `SETTINGS_INVALID`
    /// naming `security.encryption_key`, since the key always comes from settings.
    pub fn new(key: &Secret) -> Result<TokenCipher, SettingsError> {
        let bytes = decode_key32(key.expose()).map_err(|problem| SettingsError::Invalid {
            key: SECURITY_ENCRYPTION_KEY.path(),
            env: SECURITY_ENCRYPTION_KEY.env_name(),
            origin: Origin::Given,
            problem,
        })?;
        let aead = XChaCha20Poly1305::new(&Key::from(bytes));
        Ok(TokenCipher { aead })
    }

    /// A cipher under a fresh random key that exists only in this value: for a one-shot
    /// process that must not store a token in plain text but has no configured key.
    pub fn ephemeral() -> TokenCipher {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        TokenCipher {
            aead: XChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    /// Encrypts `token`, bound to `context` (use the same context to decrypt; `""` for none).
    /// A fresh random nonce every time, so equal tokens give different outputs.
    pub fn encrypt(&self, token: &Secret, context: &str) -> Result<String, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: token.expose().as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Decrypts a value written by [`TokenCipher::encrypt`] with the same `context`.
    pub fn decrypt(&self, stored: &str, context: &str) -> Result<Secret, CipherError> {
        let body = stored.strip_prefix(PREFIX).ok_or_else(|| {
            CipherError::Decrypt("not an encrypted token (expected the prefix \"v1:\")".into())
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| CipherError::Decrypt("the stored value is not valid base64".into()))?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(CipherError::Decrypt(
                "the stored value is too short (truncated)".into(),
            ));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce)
            .map_err(|_| CipherError::Decrypt("the stored value is truncated".into()))?;
        let plain = self
            .aead
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                CipherError::Decrypt(
                    "authentication failed: wrong security.encryption_key, or the stored value \
                     was changed or belongs to another record"
                        .into(),
                )
            })?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| CipherError::Decrypt("the decrypted token is not UTF-8".into()))
    }
}
