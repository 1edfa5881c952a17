//! Nonce lanes, as the account computes them (`contracts/libraries/NonceLaneLib.sol`). A 256-bit nonce (a relayed
//! batch's, or an ERC-4337 operation's at the EntryPoint) is `lane key (192 bits) | sequence (64 bits)`; the lane
//! key is `lane id (160 bits) | index (32 bits)`:
//!
//! ```text
//! bit 255                           96 95            64 63                 0
//!     |          lane id               |  index (32)   |   sequence (64)    |
//! ```
//!
//! Lane id 0: an open lane, usable by every key (lane 0, Calibur's default, is one). Any other lane id reserves the
//! lane for one key: the root key's lane id is the account's address, a registered key's is the low 160 bits of its
//! `keyId` (`IKeyward.keyIdOf`), so a key granted again after a revocation gets new lanes and nothing it signed
//! before runs in them. Using another key's lane reverts `NonceLaneReserved`. The client
//! ([`crate::client::Account`]) uses the signing key's reserved lane 0 unless told otherwise.

use alloy::primitives::{Address, B256, U160, U256, aliases::U192};

/// The root key's lane id: the account's own address.
pub fn root_lane_id(account: Address) -> U160 {
    U160::from_be_bytes(account.0.0)
}

/// A registered key's lane id: the low 160 bits of its `keyId`.
pub fn key_lane_id(key_id: B256) -> U160 {
    U160::from_be_slice(&key_id[12..])
}

/// The lane key of lane `index` of lane id `lane_id`: `lane_id << 32 | index` (what `reservedLane` returns).
pub fn lane_key(lane_id: U160, index: u32) -> U192 {
    (U192::from(lane_id) << 32) | U192::from(index)
}

/// An open lane (lane id 0): every key may use it.
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

/// The lane id `nonce` belongs to (0 for an open lane).
pub fn lane_id_of(nonce: U256) -> U160 {
    U160::from(nonce >> 96)
}

/// Whether a key with lane id `lane_id` may use `nonce`: the lane is open or its own.
pub fn may_use(nonce: U256, lane_id: U160) -> bool {
    let owner = lane_id_of(nonce);
    owner.is_zero() || owner == lane_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;

    #[test]
    fn layout_matches_the_contract() {
        let account = address!("0x1111111111111111111111111111111111111111");
        let root = root_lane_id(account);
        let lane = lane_key(root, 7);
        let n = nonce(lane, 3);
        assert_eq!(n >> 96, U256::from(root));
        assert_eq!((n >> 64) & U256::from(u32::MAX), U256::from(7));
        assert_eq!(sequence_of(n), 3);
        assert_eq!(lane_key_of(n), lane);
        assert_eq!(lane_id_of(n), root);
        assert!(may_use(n, root));
        assert!(!may_use(n, U160::from(1)));
        assert!(may_use(nonce(open_lane(5), 0), U160::from(1)), "open lanes are everyone's");
        let key_id = B256::repeat_byte(0xab);
        assert_eq!(key_lane_id(key_id), U160::from_be_slice(&[0xab; 20]));
    }
}
