//! Opaque list cursors.
//!
//! A cursor names a position in one owner's list. It is signed (HMAC-SHA-256, truncated)
//! with the store's secret and bound to the owner, so a cursor that was edited, made up,
//! or issued to someone else is refused as `invalid_cursor` instead of being trusted.

use crate::ids::Owner;
use crate::store_error::StoreError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_LEN: usize = 16;
const MAX_CURSOR_LEN: usize = 512;

#[derive(Clone)]
pub struct CursorCodec {
    secret: Vec<u8>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(..)")
    }
}

impl CursorCodec {
    pub fn new(secret: &[u8]) -> Self {
        assert!(
            secret.len() >= 16,
            "a cursor secret needs at least 16 bytes"
        );
        CursorCodec {
            secret: secret.to_vec(),
        }
    }

    /// The MAC over (owner, position), not yet finalised.
    #[allow(clippy::expect_used, reason = "HMAC takes a key of any length")]
    fn hmac(&self, owner: &Owner, position: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(owner.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(position.as_bytes());
        mac
    }

    fn mac(&self, owner: &Owner, position: &str) -> [u8; MAC_LEN] {
        let full = self.hmac(owner, position).finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    pub fn encode(&self, owner: &Owner, position: &str) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(position),
            URL_SAFE_NO_PAD.encode(self.mac(owner, position))
        )
    }

    /// The position inside `cursor`, if this codec issued it for `owner`.
    pub fn decode(&self, owner: &Owner, cursor: &str) -> Result<String, StoreError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(StoreError::InvalidCursor);
        }
        let (payload, tag) = cursor.split_once('.').ok_or(StoreError::InvalidCursor)?;
        let position = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(StoreError::InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StoreError::InvalidCursor)?;
        if tag.len() != MAC_LEN {
            return Err(StoreError::InvalidCursor);
        }
        self.hmac(owner, &position)
            .verify_truncated_left(&tag)
            .map_err(|_| StoreError::InvalidCursor)?;
        Ok(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(name: &str) -> Owner {
        Owner::parse(name).unwrap()
    }

    #[test]
    fn round_trips_for_its_owner_only() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let cursor = codec.encode(&owner("alice"), "2026-11-22T00:00:00.000Z#x");
        assert_eq!(
            codec.decode(&owner("alice"), &cursor).unwrap(),
            "2026-11-22T00:00:00.000Z#x"
        );
        assert!(matches!(
            codec.decode(&owner("bob"), &cursor),
            Err(StoreError::InvalidCursor)
        ));
    }

    #[test]
    fn refuses_edited_made_up_and_foreign_cursors() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let other = CursorCodec::new(b"fedcba9876543210fedcba9876543210");
        let alice = owner("alice");
        let cursor = codec.encode(&alice, "position-1");
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("position-2"),
            cursor.split_once('.').unwrap().1
        );
        for bad in [
            forged.as_str(),
            "",
            "garbage",
            "a.b",
            &cursor[..cursor.len() - 2],
            &other.encode(&alice, "position-1"),
        ] {
            assert!(
                matches!(codec.decode(&alice, bad), Err(StoreError::InvalidCursor)),
                "{bad:?} was accepted"
            );
        }
    }
}
