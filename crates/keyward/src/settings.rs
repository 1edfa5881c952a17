//! The packed per-key settings word.
//!
//! ```text
//! bit 255       248 247            208 207   201 200 199          160 159                 0
//!     | reserved   |   validAfter     | reserved |adm|  expiration   |        hook          |
//!     |  (zero)    |   uint40         |  (zero)  |   |  uint40       |       address        |
//! ```
//!
//! Bits 0-200 match Uniswap's Calibur. Keyward adds `validAfter` in bits 208-247, which lines up with the
//! `validAfter` field of an ERC-4337 `validationData`, and requires every reserved bit to be zero.

use std::{fmt, str::FromStr, time::Duration};

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::Error;

const HOOK_MASK: U256 = U256::from_limbs([u64::MAX, u64::MAX, 0xffff_ffff, 0]);
const UINT40_MASK: u64 = (1 << 40) - 1;
const EXPIRATION_SHIFT: usize = 160;
const ADMIN_BIT: usize = 200;
const VALID_AFTER_SHIFT: usize = 208;
/// Bits 201-207 and 248-255: must be zero in a canonical settings word.
const RESERVED_MASK: U256 = U256::from_limbs([0, 0, 0, 0xff00_0000_0000_fe00]);

/// One key's settings: hook, expiration, admin flag and `validAfter`, packed in a `uint256`.
///
/// Built with [`Settings::builder`], or parsed from a `U256` with [`Settings::try_from`], which rejects
/// reserved bits ([`Error::NonCanonicalSettings`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Settings(U256);

impl Settings {
    /// The settings of the root key (the EOA itself): admin, never expires, no hook.
    pub const ROOT: Self = Self(U256::from_limbs([0, 0, 0, 1 << (ADMIN_BIT - 192)]));

    /// Starts a builder with every field empty (non-admin, never expires, no hook, valid at once).
    pub fn builder() -> SettingsBuilder {
        SettingsBuilder::default()
    }

    /// The packed word as the contracts store it.
    pub const fn to_u256(self) -> U256 {
        self.0
    }

    /// The hook address (`Address::ZERO` when none).
    pub fn hook(self) -> Address {
        Address::from_word((self.0 & HOOK_MASK).into())
    }

    /// The last second the key is valid (unix seconds); `0` means it never expires.
    pub fn expiration(self) -> u64 {
        (self.0 >> EXPIRATION_SHIFT).as_limbs()[0] & UINT40_MASK
    }

    /// Whether the key may make the account call itself (register, update, revoke, ...).
    pub fn is_admin(self) -> bool {
        self.0.bit(ADMIN_BIT)
    }

    /// The first second the key is valid (unix seconds); `0` means no lower bound.
    pub fn valid_after(self) -> u64 {
        (self.0 >> VALID_AFTER_SHIFT).as_limbs()[0] & UINT40_MASK
    }

    /// Whether the key is usable at unix time `now`: `valid_after <= now <= expiration`.
    pub fn is_valid_at(self, now: u64) -> bool {
        let exp = self.expiration();
        (exp == 0 || now <= exp) && now >= self.valid_after()
    }

    /// The ERC-4337 `validationData` of a successful validation by this key: `validUntil = expiration`
    /// (bits 160-207) and `validAfter = valid_after - 1` (bits 208-255; 0 stays 0), no aggregator. The `EntryPoint` (v0.8)
    /// treats `validAfter` as exclusive while the key is valid from its `valid_after` second, as on every other
    /// path. No other settings bit leaks in: in particular the admin flag (bit 200) never widens `validUntil`.
    pub fn validation_data(self) -> U256 {
        let start = self.valid_after().saturating_sub(1);
        (U256::from(self.expiration()) << EXPIRATION_SHIFT) | (U256::from(start) << VALID_AFTER_SHIFT)
    }
}

impl TryFrom<U256> for Settings {
    type Error = Error;

    fn try_from(value: U256) -> Result<Self, Error> {
        let reserved = value & RESERVED_MASK;
        if reserved.is_zero() { Ok(Self(value)) } else { Err(Error::NonCanonicalSettings { reserved }) }
    }
}

impl From<Settings> for U256 {
    fn from(s: Settings) -> Self {
        s.0
    }
}

impl fmt::Display for Settings {
    /// `0x`-prefixed, 64 hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#066x}", self.0)
    }
}

impl FromStr for Settings {
    type Err = Error;

    /// Parses `0x`-prefixed hex (up to 64 digits) and rejects non-canonical bits.
    fn from_str(s: &str) -> Result<Self, Error> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .ok_or_else(|| Error::InvalidHex { input: s.to_owned(), reason: "missing 0x prefix" })?;
        if digits.is_empty() || digits.len() > 64 {
            return Err(Error::InvalidHex { input: s.to_owned(), reason: "expected 1 to 64 hex digits" });
        }
        let value = U256::from_str_radix(digits, 16)
            .map_err(|_| Error::InvalidHex { input: s.to_owned(), reason: "not a hex number" })?;
        Self::try_from(value)
    }
}

impl Serialize for Settings {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() { serializer.collect_str(self) } else { self.0.serialize(serializer) }
    }
}

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = U256::deserialize(deserializer)?;
        Self::try_from(raw).map_err(serde::de::Error::custom)
    }
}

/// Builds a canonical [`Settings`]. Times are unix seconds and must fit in 40 bits.
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct SettingsBuilder {
    hook: Address,
    expiration: u64,
    admin: bool,
    valid_after: u64,
}

impl SettingsBuilder {
    /// Sets the hook contract that enforces this key's policies.
    pub fn hook(mut self, hook: Address) -> Self {
        self.hook = hook;
        self
    }

    /// Sets the admin flag.
    pub fn admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// The key is valid through this second (unix seconds); `0` means never expires.
    pub fn expires_at(mut self, unix_seconds: u64) -> Self {
        self.expiration = unix_seconds;
        self
    }

    /// The key expires `lifetime` after `now` (unix seconds).
    pub fn expires_in(self, now: u64, lifetime: Duration) -> Self {
        self.expires_at(now.saturating_add(lifetime.as_secs()))
    }

    /// The key is rejected before this second (unix seconds); `0` means no lower bound.
    pub fn valid_after(mut self, unix_seconds: u64) -> Self {
        self.valid_after = unix_seconds;
        self
    }

    /// Packs the fields.
    pub fn build(self) -> Result<Settings, Error> {
        for (field, value) in [("expiration", self.expiration), ("validAfter", self.valid_after)] {
            if value > UINT40_MASK {
                return Err(Error::TimeOutOfRange { field, value });
            }
        }
        let mut word = U256::from_be_slice(self.hook.as_slice())
            | (U256::from(self.expiration) << EXPIRATION_SHIFT)
            | (U256::from(self.valid_after) << VALID_AFTER_SHIFT);
        if self.admin {
            word.set_bit(ADMIN_BIT, true);
        }
        Ok(Settings(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;

    #[test]
    fn root_is_admin_only() {
        assert_eq!(Settings::ROOT.to_u256(), U256::from(1) << 200);
        assert!(Settings::ROOT.is_admin());
        assert_eq!(Settings::ROOT.expiration(), 0);
        assert_eq!(Settings::ROOT.validation_data(), U256::ZERO);
    }

    #[test]
    fn builder_round_trips_every_field() {
        let hook = address!("0x00000000000000000000000000000000deadbeef");
        let s = Settings::builder()
            .hook(hook)
            .admin(true)
            .expires_at(0xff_ffff_ffff)
            .valid_after(1_700_000_000)
            .build()
            .unwrap();
        assert_eq!(s.hook(), hook);
        assert!(s.is_admin());
        assert_eq!(s.expiration(), 0xff_ffff_ffff);
        assert_eq!(s.valid_after(), 1_700_000_000);
        assert_eq!(Settings::try_from(s.to_u256()).unwrap(), s);
    }

    #[test]
    fn time_out_of_range_is_rejected() {
        let err = Settings::builder().expires_at(1 << 40).build().unwrap_err();
        assert!(matches!(err, Error::TimeOutOfRange { field: "expiration", .. }));
        assert!(Settings::builder().expires_at((1 << 40) - 1).build().is_ok());
    }

    #[test]
    fn reserved_bits_are_rejected_each_one() {
        for bit in (201..=207).chain(248..=255) {
            let word = U256::from(1) << bit;
            assert!(matches!(Settings::try_from(word), Err(Error::NonCanonicalSettings { .. })), "bit {bit}");
        }
        for bit in (0..=200).chain(208..=247) {
            assert!(Settings::try_from(U256::from(1) << bit).is_ok(), "bit {bit}");
        }
    }

    #[test]
    fn validity_window_edges() {
        let s = Settings::builder().valid_after(100).expires_at(200).build().unwrap();
        assert!(!s.is_valid_at(99));
        assert!(s.is_valid_at(100));
        assert!(s.is_valid_at(200));
        assert!(!s.is_valid_at(201));
    }

    #[test]
    fn admin_bit_never_leaks_into_validation_data() {
        let s = Settings::builder().admin(true).expires_at(1000).valid_after(10).build().unwrap();
        let vd = s.validation_data();
        assert_eq!(vd >> 208, U256::from(9), "validAfter is exclusive in the EntryPoint");
        assert_eq!((vd >> 160) & U256::from((1u64 << 48) - 1), U256::from(1000));
        assert_eq!(vd & HOOK_MASK, U256::ZERO);
    }

    #[test]
    fn display_fromstr_and_json() {
        let s = Settings::builder().expires_at(42).build().unwrap();
        let text = s.to_string();
        assert_eq!(text.len(), 66);
        assert_eq!(text.parse::<Settings>().unwrap(), s);
        assert!("42".parse::<Settings>().is_err());
        assert!("0xzz".parse::<Settings>().is_err());
        assert!(format!("0x{}", "f".repeat(64)).parse::<Settings>().is_err());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Settings>(&format!("\"{:#x}\"", U256::from(1) << 255)).is_err());
    }
}
