//! Token encryption at rest: round trip, fresh nonces, wrong key, tampering, bad keys.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::{KEY, OTHER_KEY, SHORT_KEY};
use specline_settings::{CipherError, Secret, TokenCipher};

fn cipher(key: &str) -> TokenCipher {
    TokenCipher::new(&Secret::new(key)).unwrap()
}

const TOKEN: &str = "ghp_exampleTokenValue0123456789";
const AUTH_FAILED: &str = "DECRYPT_FAILED: authentication failed: wrong security.encryption_key, \
     or the stored value was changed or belongs to another record";

#[test]
fn round_trip_with_a_fresh_nonce_each_time() {
    let c = cipher(KEY);
    let a = c.encrypt(&Secret::new(TOKEN), "repo:42").unwrap();
    let b = c.encrypt(&Secret::new(TOKEN), "repo:42").unwrap();
    assert!(a.starts_with("v1:"), "{a}");
    assert_ne!(a, b, "a random nonce per encryption");
    assert!(!a.contains(TOKEN));
    // nonce (24) + token + tag (16), base64.
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&a[3..])
        .unwrap();
    assert_eq!(raw.len(), 24 + TOKEN.len() + 16);
    assert_ne!(
        &raw[..24],
        &base64::engine::general_purpose::STANDARD
            .decode(&b[3..])
            .unwrap()[..24]
    );
    assert_eq!(c.decrypt(&a, "repo:42").unwrap().expose(), TOKEN);
    assert_eq!(c.decrypt(&b, "repo:42").unwrap().expose(), TOKEN);
    // A second cipher from the same key (another process) decrypts too.
    assert_eq!(cipher(KEY).decrypt(&a, "repo:42").unwrap().expose(), TOKEN);
}

#[test]
fn empty_and_unicode_tokens_round_trip() {
    let c = cipher(KEY);
    for token in ["", "토큰-ü-✓"] {
        let stored = c.encrypt(&Secret::new(token), "").unwrap();
        assert_eq!(c.decrypt(&stored, "").unwrap().expose(), token);
    }
}

#[test]
fn wrong_key_is_a_clear_error() {
    let stored = cipher(KEY).encrypt(&Secret::new(TOKEN), "repo:42").unwrap();
    let err = cipher(OTHER_KEY).decrypt(&stored, "repo:42").unwrap_err();
    assert_eq!(err.code(), "DECRYPT_FAILED");
    assert_eq!(err.to_string(), AUTH_FAILED);
}

#[test]
fn another_records_context_does_not_decrypt() {
    let c = cipher(KEY);
    let stored = c.encrypt(&Secret::new(TOKEN), "repo:42").unwrap();
    let err = c.decrypt(&stored, "repo:43").unwrap_err();
    assert_eq!(err.to_string(), AUTH_FAILED);
}

#[test]
fn any_changed_byte_is_detected() {
    let c = cipher(KEY);
    let stored = c.encrypt(&Secret::new(TOKEN), "r").unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&stored[3..])
        .unwrap();
    // Flip one bit in the nonce, the ciphertext and the tag in turn.
    for i in [0, 23, 24, 24 + TOKEN.len() - 1, raw.len() - 1] {
        let mut bad = raw.clone();
        bad[i] ^= 0x01;
        let bad = format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD.encode(&bad)
        );
        let err = c.decrypt(&bad, "r").unwrap_err();
        assert_eq!(
            err,
            CipherError::Decrypt(AUTH_FAILED["DECRYPT_FAILED: ".len()..].to_string()),
            "byte {i}"
        );
    }
}

#[test]
fn malformed_stored_values_are_decrypt_errors() {
    let c = cipher(KEY);
    let stored = c.encrypt(&Secret::new(TOKEN), "").unwrap();
    let cases = [
        (
            TOKEN.to_string(),
            "DECRYPT_FAILED: not an encrypted token (expected the prefix \"v1:\")",
        ),
        (
            format!("v2:{}", &stored[3..]),
            "DECRYPT_FAILED: not an encrypted token (expected the prefix \"v1:\")",
        ),
        (
            "v1:***".to_string(),
            "DECRYPT_FAILED: the stored value is not valid base64",
        ),
        (
            "v1:AAAA".to_string(),
            "DECRYPT_FAILED: the stored value is too short (truncated)",
        ),
        (
            stored[..stored.len() - 3].to_string(),
            "DECRYPT_FAILED: the stored value is not valid base64",
        ),
    ];
    for (input, expected) in cases {
        let err = c.decrypt(&input, "").unwrap_err();
        assert_eq!(err.code(), "DECRYPT_FAILED");
        assert_eq!(err.to_string(), expected, "input {input}");
    }
    // Truncated on a base64 boundary: decodes, but the tag is wrong.
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&stored[3..])
        .unwrap();
    let cut = format!(
        "v1:{}",
        base64::engine::general_purpose::STANDARD.encode(&raw[..raw.len() - 3])
    );
    assert_eq!(c.decrypt(&cut, "").unwrap_err().to_string(), AUTH_FAILED);
}

#[test]
fn malformed_key_is_settings_invalid_naming_the_key() {
    let err = TokenCipher::new(&Secret::new(SHORT_KEY)).unwrap_err();
    assert_eq!(err.code(), "SETTINGS_INVALID");
    assert_eq!(
        err.to_string(),
        "SETTINGS_INVALID: security.encryption_key (env SPECLINE_SECURITY__ENCRYPTION_KEY) from the \
         value given: expected secret: 32 bytes, base64; the value decodes to 16 bytes"
    );
    let err = TokenCipher::new(&Secret::new("hunter2 hunter2")).unwrap_err();
    assert_eq!(err.code(), "SETTINGS_INVALID");
    assert!(err.to_string().contains("security.encryption_key"));
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn cipher_debug_shows_no_key() {
    assert_eq!(format!("{:?}", cipher(KEY)), "TokenCipher([redacted])");
}

#[test]
fn ephemeral_ciphers_round_trip_and_do_not_read_each_others_tokens() {
    let a = TokenCipher::ephemeral();
    let b = TokenCipher::ephemeral();
    let sealed = a.encrypt(&Secret::new(TOKEN), "repo").unwrap();
    assert_eq!(a.decrypt(&sealed, "repo").unwrap().expose(), TOKEN);
    assert_eq!(
        b.decrypt(&sealed, "repo").unwrap_err().code(),
        "DECRYPT_FAILED"
    );
}
