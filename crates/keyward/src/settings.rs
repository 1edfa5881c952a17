//! The packed per-key settings word.
//!
//! ```text
//! bit 255     252 251  248 247            208 207    201 200 199          160 159                0
//!     |   zero    | flags |   validAfter     |  zero   |adm|  expiration   |        hook         |
//!     |           |(4 bit)|   uint40         |         |   |  uint40       |      address        |
//! ```
//!
//! Bits 0-200 match Uniswap's Calibur (a Calibur client's word is a Keyward word). Keyward adds `validAfter` in
//! bits 208-247, which lines up with the `validAfter` field of an ERC-4337 `validationData`, and the [`Flags`] in
//! bits 248-251: 248 AFTER_EXECUTE_ON_FAILURE, 249 SPONSORED_ONLY, 250 GAS_BUDGET, 251 SCHEDULED. Bits 201-207 and
//! 252-255 must be zero, here as in the contract. A nonzero hook must enable at least one
//! callback in the low 5 bits of its address ([`crate::hooks`]): the account refuses any other with
//! `HookWithoutCallbacks`.

use std::{fmt, ops::BitOr, str::FromStr, time::Duration};

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::{Error, hooks};

const HOOK_MASK: U256 = U256::from_limbs([u64::MAX, u64::MAX, 0xffff_ffff, 0]);
const UINT40_MASK: u64 = (1 << 40) - 1;
const EXPIRATION_SHIFT: usize = 160;
const ADMIN_BIT: usize = 200;
const VALID_AFTER_SHIFT: usize = 208;
const FLAGS_SHIFT: usize = 248;
/// Bits 201-207 and 252-255: must be zero (the contract's `NonCanonicalSettings`).
const RESERVED_MASK: U256 = U256::from_limbs([0, 0, 0, 0xf000_0000_0000_fe00]);

/// The flags of a settings word (bits 248-251 of it; bits 252-253 are reserved for future flags).
///
/// Combine with `|`; shown and parsed as names joined by `|` (`AFTER_EXECUTE_ON_FAILURE|GAS_BUDGET`, or `NONE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flags(u8);

impl Flags {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// Bit 248: the hook's `afterExecute` runs only after calls that failed (a hook that only rolls back what
    /// `beforeExecute` charged, like the PolicyHook, needs nothing after a success, which saves a call per call).
    pub const AFTER_EXECUTE_ON_FAILURE: Self = Self(1 << 0);
    /// Bit 249: the key's ERC-4337 operations must name a paymaster (`validateUserOp` reverts
    /// `PaymasterRequired()` otherwise); the account never pays for them.
    pub const SPONSORED_ONLY: Self = Self(1 << 1);
    /// Bit 250: the account pays the key's ERC-4337 gas only within its gas budget (`setGasBudget`), and pays none
    /// without one. Operations name the gas window they are charged to (see [`crate::userop::gas_window`]).
    pub const GAS_BUDGET: Self = Self(1 << 2);
    /// Bit 251: the key acts only inside its recurring weekly schedule in UTC (the account's `setSchedule`); its
    /// ERC-4337 operations name the occurrence they run in (the signature envelope's fifth word).
    pub const SCHEDULED: Self = Self(1 << 3);
    /// Every flag this crate knows.
    pub const KNOWN: Self = Self(0x0f);

    const NAMES: [(Self, &'static str); 4] = [
        (Self::AFTER_EXECUTE_ON_FAILURE, "AFTER_EXECUTE_ON_FAILURE"),
        (Self::SPONSORED_ONLY, "SPONSORED_ONLY"),
        (Self::GAS_BUDGET, "GAS_BUDGET"),
        (Self::SCHEDULED, "SCHEDULED"),
    ];

    /// The six flag bits as the contract reads them (`settings >> 248 & 0x3f`).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Flags from their bits; `None` when a bit this crate does not know (0x10 and up) is set.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        if bits & !Self::KNOWN.0 == 0 { Some(Self(bits)) } else { None }
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// These flags with `flag` set or cleared.
    #[must_use]
    pub const fn with(self, flag: Self, on: bool) -> Self {
        if on { Self(self.0 | flag.0) } else { Self(self.0 & !flag.0) }
    }

    /// The names of the set flags, lowest bit first.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(f, _)| self.contains(*f)).map(|(_, n)| *n).collect()
    }
}

impl BitOr for Flags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Display for Flags {
    /// The names joined by `|`, or `NONE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() { f.write_str("NONE") } else { f.write_str(&self.names().join("|")) }
    }
}

impl FromStr for Flags {
    type Err = Error;

    /// Names joined by `|` or `,` (case-insensitive, `-` for `_` allowed), `NONE`, or a number (`0x05`, `5`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let unknown = |reason: &'static str| Error::InvalidFlags { input: s.to_owned(), reason };
        let trimmed = s.trim();
        if let Some(hex) = trimmed.strip_prefix("0x") {
            let bits = u8::from_str_radix(hex, 16).map_err(|_| unknown("not a hex number below 0x100"))?;
            return Self::from_bits(bits).ok_or_else(|| unknown("sets a reserved flag bit"));
        }
        if let Ok(bits) = trimmed.parse::<u8>() {
            return Self::from_bits(bits).ok_or_else(|| unknown("sets a reserved flag bit"));
        }
        let mut flags = Self::NONE;
        for part in trimmed.split(['|', ',']).map(str::trim) {
            let name = part.to_ascii_uppercase().replace('-', "_");
            if name == "NONE" {
                continue;
            }
            let (flag, _) = Self::NAMES.iter().find(|(_, n)| *n == name).ok_or_else(|| unknown("unknown flag name"))?;
            flags = flags | *flag;
        }
        Ok(flags)
    }
}

impl Serialize for Flags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() { serializer.collect_str(self) } else { self.0.serialize(serializer) }
    }
}

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            let bits = u8::deserialize(deserializer)?;
            Self::from_bits(bits).ok_or_else(|| serde::de::Error::custom("a reserved flag bit is set"))
        }
    }
}

/// One key's settings: hook, expiration, admin flag, `validAfter` and [`Flags`], packed in a `uint256`.
///
/// Built with [`Settings::builder`], or parsed from a `U256` with [`Settings::try_from`], which rejects reserved
/// bits ([`Error::NonCanonicalSettings`]) and a hook without callbacks ([`Error::HookWithoutCallbacks`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Settings(U256);

impl Settings {
    /// The settings of the root key (the EOA itself): admin, never expires, no hook.
    pub const ROOT: Self = Self(U256::from_limbs([0, 0, 0, 1 << (ADMIN_BIT - 192)]));

    /// Starts a builder with every field empty (non-admin, never expires, no hook, valid at once, no flags).
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

    /// The flags (bits 248-250).
    pub fn flags(self) -> Flags {
        // Canonical words have bits 252-255 clear, so the byte holds known flags only.
        Flags((self.0 >> FLAGS_SHIFT).as_limbs()[0].to_le_bytes()[0] & Flags::KNOWN.0)
    }

    /// Whether every flag of `flags` is set.
    pub fn has_flag(self, flags: Flags) -> bool {
        self.flags().contains(flags)
    }

    /// Whether the key is usable at unix time `now`: `valid_after <= now <= expiration`.
    pub fn is_valid_at(self, now: u64) -> bool {
        let exp = self.expiration();
        (exp == 0 || now <= exp) && now >= self.valid_after()
    }

    /// The ERC-4337 `validationData` of a successful validation by this key: `validUntil = expiration`
    /// (bits 160-207) and `validAfter = valid_after - 1` (bits 208-255; 0 stays 0), no aggregator. The `EntryPoint` (v0.8)
    /// treats `validAfter` as exclusive while the key is valid from its `valid_after` second, as on every other
    /// path. No other settings bit leaks in: in particular neither the admin flag (bit 200) nor the flags widen it.
    /// (A key with [`Flags::GAS_BUDGET`] whose operation the account pays is narrowed further, to its gas window.)
    pub fn validation_data(self) -> U256 {
        let start = self.valid_after().saturating_sub(1);
        (U256::from(self.expiration()) << EXPIRATION_SHIFT) | (U256::from(start) << VALID_AFTER_SHIFT)
    }
}

impl TryFrom<U256> for Settings {
    type Error = Error;

    fn try_from(value: U256) -> Result<Self, Error> {
        let reserved = value & RESERVED_MASK;
        if !reserved.is_zero() {
            return Err(Error::NonCanonicalSettings { reserved });
        }
        let s = Self(value);
        let hook = s.hook();
        if hook != Address::ZERO && !hooks::has_any(hook) {
            return Err(Error::HookWithoutCallbacks { hook });
        }
        Ok(s)
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

    /// Parses `0x`-prefixed hex (up to 64 digits) and rejects what [`Settings::try_from`] rejects.
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
    flags: Flags,
}

impl SettingsBuilder {
    /// Sets the hook contract that enforces this key's policies. Its address must enable at least one callback
    /// ([`crate::hooks`]), else [`SettingsBuilder::build`] fails with [`Error::HookWithoutCallbacks`].
    pub fn hook(mut self, hook: Address) -> Self {
        self.hook = hook;
        self
    }

    /// Puts the key under the PolicyHook at `hook` the way the PolicyHook expects: the hook, and
    /// [`Flags::AFTER_EXECUTE_ON_FAILURE`] (it only rolls back after failed calls, so a success costs no
    /// `afterExecute` call). Under ERC-4337 such a key also needs a paymaster or [`Flags::GAS_BUDGET`] with a budget:
    /// the PolicyHook refuses account-paid gas otherwise.
    pub fn policy_hook(self, hook: Address) -> Self {
        self.hook(hook).after_execute_on_failure(true)
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

    /// Sets every flag at once (replacing what the flag methods set before).
    pub fn flags(mut self, flags: Flags) -> Self {
        self.flags = flags;
        self
    }

    /// [`Flags::AFTER_EXECUTE_ON_FAILURE`]: the hook's `afterExecute` only after failed calls.
    pub fn after_execute_on_failure(mut self, on: bool) -> Self {
        self.flags = self.flags.with(Flags::AFTER_EXECUTE_ON_FAILURE, on);
        self
    }

    /// [`Flags::SPONSORED_ONLY`]: ERC-4337 operations must name a paymaster.
    pub fn sponsored_only(mut self, on: bool) -> Self {
        self.flags = self.flags.with(Flags::SPONSORED_ONLY, on);
        self
    }

    /// [`Flags::GAS_BUDGET`]: the account pays ERC-4337 gas only within the key's budget (set it with
    /// [`crate::encode::set_gas_budget`] in the same batch as the grant; without one the account pays nothing).
    pub fn gas_budget(mut self, on: bool) -> Self {
        self.flags = self.flags.with(Flags::GAS_BUDGET, on);
        self
    }

    /// Packs the fields.
    pub fn build(self) -> Result<Settings, Error> {
        for (field, value) in [("expiration", self.expiration), ("validAfter", self.valid_after)] {
            if value > UINT40_MASK {
                return Err(Error::TimeOutOfRange { field, value });
            }
        }
        if self.hook != Address::ZERO && !hooks::has_any(self.hook) {
            return Err(Error::HookWithoutCallbacks { hook: self.hook });
        }
        let mut word = U256::from_be_slice(self.hook.as_slice())
            | (U256::from(self.expiration) << EXPIRATION_SHIFT)
            | (U256::from(self.valid_after) << VALID_AFTER_SHIFT)
            | (U256::from(self.flags.bits()) << FLAGS_SHIFT);
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
        assert_eq!(Settings::ROOT.flags(), Flags::NONE);
    }

    #[test]
    fn builder_round_trips_every_field() {
        let hook = address!("0x00000000000000000000000000000000deadbeef");
        let s = Settings::builder()
            .hook(hook)
            .admin(true)
            .expires_at(0xff_ffff_ffff)
            .valid_after(1_700_000_000)
            .sponsored_only(true)
            .gas_budget(true)
            .build()
            .unwrap();
        assert_eq!(s.hook(), hook);
        assert!(s.is_admin());
        assert_eq!(s.expiration(), 0xff_ffff_ffff);
        assert_eq!(s.valid_after(), 1_700_000_000);
        assert_eq!(s.flags(), Flags::SPONSORED_ONLY | Flags::GAS_BUDGET);
        assert!(s.has_flag(Flags::GAS_BUDGET) && !s.has_flag(Flags::AFTER_EXECUTE_ON_FAILURE));
        assert_eq!(Settings::try_from(s.to_u256()).unwrap(), s);
    }

    #[test]
    fn flags_sit_in_bits_248_to_250() {
        for (flag, bit) in
            [(Flags::AFTER_EXECUTE_ON_FAILURE, 248), (Flags::SPONSORED_ONLY, 249), (Flags::GAS_BUDGET, 250)]
        {
            let s = Settings::builder().flags(flag).build().unwrap();
            assert_eq!(s.to_u256(), U256::from(1) << bit, "{flag}");
            assert_eq!(s.flags(), flag);
        }
        let hook = address!("0x000000000000000000000000000000000000c01e");
        let s = Settings::builder().policy_hook(hook).build().unwrap();
        assert_eq!(s.flags(), Flags::AFTER_EXECUTE_ON_FAILURE);
        assert_eq!(s.hook(), hook);
        let cleared = Settings::builder().policy_hook(hook).after_execute_on_failure(false).build().unwrap();
        assert_eq!(cleared.flags(), Flags::NONE);
    }

    #[test]
    fn time_out_of_range_is_rejected() {
        let err = Settings::builder().expires_at(1 << 40).build().unwrap_err();
        assert!(matches!(err, Error::TimeOutOfRange { field: "expiration", .. }));
        assert!(Settings::builder().expires_at((1 << 40) - 1).build().is_ok());
    }

    #[test]
    fn reserved_bits_are_rejected_each_one() {
        for bit in (201..=207).chain(252..=255) {
            let word = U256::from(1) << bit;
            let err = Settings::try_from(word).unwrap_err();
            assert!(matches!(err, Error::NonCanonicalSettings { reserved } if reserved == word), "bit {bit}");
        }
        for bit in (0..5).chain(160..=200).chain(208..=251) {
            assert!(Settings::try_from(U256::from(1) << bit).is_ok(), "bit {bit}");
        }
        for bit in 5..160 {
            // A hook bit with a callback bit beside it.
            assert!(Settings::try_from((U256::from(1) << bit) | U256::from(1)).is_ok(), "bit {bit}");
        }
    }

    #[test]
    fn a_hook_must_enable_a_callback() {
        // Bits 0-4 alone are hooks with one callback each; bit 5 alone is a hook with none.
        for bit in 0..5 {
            assert!(Settings::try_from(U256::from(1) << bit).is_ok(), "bit {bit}");
        }
        let none = address!("0x0000000000000000000000000000000000000020");
        assert!(matches!(
            Settings::try_from(U256::from(0x20)),
            Err(Error::HookWithoutCallbacks { hook }) if hook == none
        ));
        assert!(matches!(Settings::builder().hook(none).build(), Err(Error::HookWithoutCallbacks { .. })));
        assert!(Settings::builder().hook(Address::ZERO).build().is_ok(), "no hook is fine");
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
    fn admin_bit_and_flags_never_leak_into_validation_data() {
        let s = Settings::builder().admin(true).expires_at(1000).valid_after(10).flags(Flags::KNOWN).build().unwrap();
        let vd = s.validation_data();
        assert_eq!(vd >> 208, U256::from(9), "validAfter is exclusive in the EntryPoint");
        assert_eq!((vd >> 160) & U256::from((1u64 << 48) - 1), U256::from(1000));
        assert_eq!(vd & HOOK_MASK, U256::ZERO);
    }

    #[test]
    fn display_fromstr_and_json() {
        let s = Settings::builder().expires_at(42).gas_budget(true).build().unwrap();
        let text = s.to_string();
        assert_eq!(text.len(), 66);
        assert_eq!(text.parse::<Settings>().unwrap(), s);
        assert!("42".parse::<Settings>().is_err());
        assert!("0xzz".parse::<Settings>().is_err());
        assert!(format!("0x{}", "f".repeat(64)).parse::<Settings>().is_err());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Settings>(&format!("\"{:#x}\"", U256::from(1) << 255)).is_err());
        assert!(serde_json::from_str::<Settings>(&format!("\"{:#x}\"", U256::from(1) << 252)).is_err());
        assert!(serde_json::from_str::<Settings>(&format!("\"{:#x}\"", U256::from(1) << 251)).is_ok());
    }

    #[test]
    fn flags_display_parse_and_json() {
        let f = Flags::AFTER_EXECUTE_ON_FAILURE | Flags::GAS_BUDGET;
        assert_eq!(f.to_string(), "AFTER_EXECUTE_ON_FAILURE|GAS_BUDGET");
        assert_eq!(Flags::NONE.to_string(), "NONE");
        for text in ["AFTER_EXECUTE_ON_FAILURE|GAS_BUDGET", "gas-budget, after_execute_on_failure", "0x05", "5"] {
            assert_eq!(text.parse::<Flags>().unwrap(), f, "{text}");
        }
        assert_eq!("NONE".parse::<Flags>().unwrap(), Flags::NONE);
        assert!(matches!("FAST".parse::<Flags>(), Err(Error::InvalidFlags { .. })));
        assert!(matches!("0x10".parse::<Flags>(), Err(Error::InvalidFlags { .. })), "bit 252 is reserved");
        assert_eq!(Flags::from_bits(0x10), None);
        assert_eq!("SCHEDULED".parse::<Flags>().unwrap(), Flags::SCHEDULED);
        assert_eq!(Flags::from_bits(0x08), Some(Flags::SCHEDULED));
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, "\"AFTER_EXECUTE_ON_FAILURE|GAS_BUDGET\"");
        assert_eq!(serde_json::from_str::<Flags>(&json).unwrap(), f);
    }
}
