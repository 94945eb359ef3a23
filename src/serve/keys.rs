//! API keys: made from the system's random source, stored only as their SHA-256, compared in
//! constant time.

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// 32 random bytes, hex: as hard to guess as the hash that stands for it is to invert.
pub fn generate() -> Result<Secret, String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the system's random source failed".to_owned())?;
    Ok(Secret::new(
        bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
    ))
}

/// What the store keeps instead of the key.
pub fn hash(key: &Secret) -> Vec<u8> {
    digest::digest(&digest::SHA256, key.expose().as_bytes())
        .as_ref()
        .to_vec()
}

/// Whether `stored` is the hash of `key`, in time that does not depend on where they differ.
pub fn matches(stored: &[u8], key: &Secret) -> bool {
    stored.ct_eq(&hash(key)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_only_their_hash_matches() {
        let first = generate().expect("random");
        let second = generate().expect("random");
        assert_eq!(first.expose().len(), 64);
        assert_ne!(first, second);
        let stored = hash(&first);
        assert_eq!(stored.len(), 32);
        assert!(matches(&stored, &first));
        assert!(!matches(&stored, &second));
        assert!(!matches(&stored[..31], &first));
    }
}
