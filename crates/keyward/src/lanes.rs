//! Nonce lanes, as the account computes them (`contracts/libraries/NonceLaneLib.sol`). A 256-bit nonce (a relayed
//! batch's, or an ERC-4337 operation's at the EntryPoint) is `lane key (192 bits) | sequence (64 bits)`. A lane key
//! that starts with the tag "KWRD" (`0x4b575244`) is reserved for one key:
//!
//! ```text
//! bit 255        224 223                      96 95            64 63                 0
//!     | "KWRD" tag  |       lane id (128)        |  index (32)   |   sequence (64)    |
//! ```
//!
//! Every other lane key (lane 0, Calibur's default, and any key a Calibur client picks) is open to every key, as in
//! Calibur's shared nonce space. The root key's lane id is the low 128 bits of the account's address, a registered
//! key's the low 128 bits of its `keyId` (`IKeyward.keyIdOf`), so a key granted again after a revocation gets new
//! lanes and nothing it signed in its old ones runs again. Using another key's lane reverts `NonceLaneReserved`. The
//! client ([`crate::client::Account`]) uses the signing key's reserved lane 0 unless told otherwise.

use alloy::primitives::{Address, B256, U256, aliases::U192};

/// The tag of a reserved lane key (its high 32 bits): "KWRD".
pub const TAG: u32 = 0x4b57_5244;

/// The root key's lane id: the low 128 bits of the account's address.
pub fn root_lane_id(account: Address) -> u128 {
    low_128(U256::from_be_slice(account.as_slice()))
}

/// A registered key's lane id: the low 128 bits of its `keyId`.
pub fn key_lane_id(key_id: B256) -> u128 {
    low_128(U256::from_be_bytes(key_id.0))
}

/// The reserved lane key `index` of lane id `lane_id`: `"KWRD" << 160 | lane_id << 32 | index` (what
/// `reservedLane` returns).
pub fn lane_key(lane_id: u128, index: u32) -> U192 {
    (U192::from(TAG) << 160) | (U192::from(lane_id) << 32) | U192::from(index)
}

/// An open lane key (no tag): every key may use it. Lane 0 is Calibur's default.
pub fn open_lane(index: u32) -> U192 {
    U192::from(index)
}

/// The nonce with sequence `seq` in lane `lane_key`: `lane_key << 64 | seq`.
pub fn nonce(lane_key: U192, seq: u64) -> U256 {
    (U256::from(lane_key) << 64) | U256::from(seq)
}

/// The lane key of `nonce` (its high 192 bits).
pub fn lane_key_of(nonce: U256) -> U192 {
    U192::from(nonce >> 64)
}

/// The sequence of `nonce` (its low 64 bits).
pub fn sequence_of(nonce: U256) -> u64 {
    nonce.as_limbs()[0]
}

/// Whether `nonce` is in a reserved lane (its lane key carries the tag).
pub fn is_reserved(nonce: U256) -> bool {
    nonce >> 224 == U256::from(TAG)
}

/// The lane id a reserved `nonce` belongs to; `None` for an open lane.
pub fn lane_id_of(nonce: U256) -> Option<u128> {
    is_reserved(nonce).then(|| low_128(nonce >> 96))
}

fn low_128(word: U256) -> u128 {
    let limbs = word.as_limbs();
    (u128::from(limbs[1]) << 64) | u128::from(limbs[0])
}

/// Whether a key with lane id `lane_id` may use `nonce`: the lane is open or its own.
pub fn may_use(nonce: U256, lane_id: u128) -> bool {
    lane_id_of(nonce).is_none_or(|owner| owner == lane_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;

    #[test]
    fn layout_matches_the_contract() {
        let account = address!("0x1111111111111111111111111111111111111111");
        let root = root_lane_id(account);
        assert_eq!(root, 0x1111_1111_1111_1111_1111_1111_1111_1111);
        let lane = lane_key(root, 7);
        let n = nonce(lane, 3);
        assert_eq!(n >> 224, U256::from(0x4b57_5244u32), "the KWRD tag");
        assert_eq!((n >> 96) & U256::from(u128::MAX), U256::from(root));
        assert_eq!((n >> 64) & U256::from(u32::MAX), U256::from(7));
        assert_eq!(sequence_of(n), 3);
        assert_eq!(lane_key_of(n), lane);
        assert_eq!(lane_id_of(n), Some(root));
        assert!(may_use(n, root));
        assert!(!may_use(n, 1));
        // Open: lane 0, small lanes, and any lane key without the tag, even one with high bits set.
        assert!(may_use(nonce(open_lane(5), 0), 1), "open lanes are everyone's");
        assert!(lane_id_of(U256::MAX).is_none() && may_use(U256::MAX, 1));
        let key_id = B256::repeat_byte(0xab);
        assert_eq!(key_lane_id(key_id), u128::from_be_bytes([0xab; 16]));
    }
}
