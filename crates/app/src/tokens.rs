//! API access tokens: made here, shown once, stored only as a hash.
//!
//! A token is 32 random bytes, so a plain SHA-256 of it is as good as a slow password
//! hash (there is nothing to guess) and lets the API find the token by its hash with one
//! indexed lookup. The prefix `spl_` makes a leaked token recognisable to secret scanners.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every token.
pub const TOKEN_PREFIX: &str = "spl_";

/// A new token: the text to hand over once, and the hash to store.
pub struct NewToken {
    pub plaintext: String,
    pub hash: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// Make a token from the operating system's random source.
pub fn generate() -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash(&plaintext);
    NewToken { plaintext, hash }
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Why an owner name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("INVALID_OWNER: {0}")]
pub struct InvalidOwner(pub String);

/// An owner as the API accepts it (from a token or a gateway header): 1 to 200 bytes,
/// no control characters, and not [`crate::SYSTEM_OWNER`], which names the operator
/// tools' runs and must not be reachable through the API.
pub fn validate_owner(owner: &str) -> Result<(), InvalidOwner> {
    if owner.is_empty() || owner.len() > 200 {
        return Err(InvalidOwner("an owner is 1 to 200 bytes".into()));
    }
    if owner.chars().any(char::is_control) {
        return Err(InvalidOwner("an owner has no control characters".into()));
    }
    if owner == crate::SYSTEM_OWNER {
        return Err(InvalidOwner(format!(
            "`{}` is reserved for the operator tools",
            crate::SYSTEM_OWNER
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_only_their_hash_matches() {
        let a = generate();
        let b = generate();
        assert_ne!(a.plaintext, b.plaintext);
        assert!(a.plaintext.starts_with(TOKEN_PREFIX));
        assert_eq!(hash(&a.plaintext), a.hash);
        assert_ne!(hash(&b.plaintext), a.hash);
        assert!(!format!("{a:?}").contains(&a.plaintext));
    }

    #[test]
    fn owners_are_bounded_printable_and_never_the_system_owner() {
        assert!(validate_owner("alice").is_ok());
        assert!(validate_owner("").is_err());
        assert!(validate_owner(&"x".repeat(201)).is_err());
        assert!(validate_owner("a\nb").is_err());
        assert!(validate_owner(crate::SYSTEM_OWNER).is_err());
    }
}
