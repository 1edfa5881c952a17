//! Human units, where people type amounts, times and calls, and back: shared by the library (refusals in words,
//! the agent) and the `keyward` command.
//!
//! | what | typed as | parsed by |
//! |---|---|---|
//! | an amount of an asset | `eth:0.5`, `gwei:30`, `wei:1000`, `usdc:100`, `0xToken:12.5` (decimals from [`Tokens`]), `0xToken@6:12.5` (explicit decimals) | [`Amount::parse`] |
//! | a number in units | `12.5` with 6 decimals is `12_500_000` base units | [`parse_units`] / [`format_units`] |
//! | a duration | `30s`, `5m`, `1h`, `7d`, `2w`, `1h30m`, `300` (seconds) | [`parse_duration`] / [`format_duration`] |
//! | a call rule | `0xToken:transfer(address,uint256)`, `usdc:approve(address,uint256)`, `0xShop:receive` (plain ETH transfers), `0xRouter:any`, `any:0xa9059cbb` | [`CallSpec::parse`] |
//!
//! Nothing is rounded or capped: an amount with more decimal places than its asset has, a number past 256 bits, a
//! duration past `u64` seconds are [`UnitsError`]s naming the input.
//!
//! ```
//! use keyward::units::{Amount, Asset, CallSpec, Tokens, format_duration, parse_duration};
//!
//! let tokens = Tokens::for_chain(1);
//! let cap = Amount::parse("usdc:100", &tokens)?;
//! assert_eq!(cap.value, alloy::primitives::U256::from(100_000_000u64)); // 6 decimals
//! assert_eq!(cap.display(&tokens), "100 USDC");
//! assert_eq!(Amount::parse("eth:0.5", &tokens)?.display(&tokens), "0.5 ETH");
//! assert_eq!(parse_duration("1h30m")?.as_secs(), 5_400);
//! assert_eq!(format_duration(std::time::Duration::from_secs(90_000)), "1d1h");
//! let rule = CallSpec::parse("usdc:transfer(address to, uint256 amount)", &tokens)?;
//! assert_eq!(rule.selector.0, [0xa9, 0x05, 0x9c, 0xbb]);
//! assert_eq!(rule.signature.as_deref(), Some("transfer(address,uint256)"));
//! # Ok::<(), keyward::units::UnitsError>(())
//! ```

use std::{fmt, time::Duration};

use alloy::{
    dyn_abi::DynSolType,
    primitives::{Address, FixedBytes, U256, address, keccak256},
};
use serde::{Deserialize, Serialize};

use crate::policy::{ANY_SELECTOR, ANY_TARGET, EMPTY_CALLDATA};

/// Decimals of ETH (and of every chain's native currency this crate knows).
pub const ETH_DECIMALS: u8 = 18;

/// What a bad amount, duration or call spec looks like. Every variant names the offending input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitsError {
    /// Not `ASSET:AMOUNT`, or the number is not digits with at most one decimal point.
    #[error("amount {input:?}: {reason}")]
    InvalidAmount {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More decimal places than the asset has (never rounded).
    #[error("amount {input:?} has more decimal places than the {decimals} of its asset")]
    TooPrecise {
        /// What was given.
        input: String,
        /// The asset's decimals.
        decimals: u8,
    },
    /// The amount does not fit in 256 bits of base units.
    #[error("amount {input:?} does not fit in 256 bits")]
    AmountOverflow {
        /// What was given.
        input: String,
    },
    /// A symbol the token table does not know.
    #[error("{input:?}: unknown token {symbol:?} (give its address, 0xTOKEN@DECIMALS:AMOUNT, or add it to the table)")]
    UnknownToken {
        /// What was given.
        input: String,
        /// The unknown symbol.
        symbol: String,
    },
    /// A token address whose decimals the table does not know and the input does not say.
    #[error("{input:?}: the decimals of token {token} are unknown: write {token}@DECIMALS:AMOUNT")]
    UnknownDecimals {
        /// What was given.
        input: String,
        /// The token.
        token: Address,
    },
    /// Explicit decimals that disagree with the table's.
    #[error("{input:?}: the token has {known} decimals, not {given}")]
    DecimalsMismatch {
        /// What was given.
        input: String,
        /// The table's decimals.
        known: u8,
        /// The input's.
        given: u8,
    },
    /// Not a duration.
    #[error("duration {input:?}: {reason}")]
    InvalidDuration {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A duration past `u64` seconds.
    #[error("duration {input:?} is too long")]
    DurationOverflow {
        /// What was given.
        input: String,
    },
    /// Not `TARGET:FUNCTION`.
    #[error("call {input:?}: {reason}")]
    InvalidCallSpec {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A function signature that does not parse.
    #[error("function signature {input:?}: {reason}")]
    InvalidSignature {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What an amount is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Asset {
    /// The chain's native currency (ETH), in wei.
    Native,
    /// An ERC-20 token, in its base units.
    Token(Address),
}

impl Asset {
    /// The asset a PolicyHook error names: `address(0)` is native value.
    pub fn from_hook_address(asset: Address) -> Self {
        if asset == Address::ZERO { Self::Native } else { Self::Token(asset) }
    }
}

/// A token the table knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its symbol as people type it (matched without regard to case).
    pub symbol: String,
    /// Its address.
    pub address: Address,
    /// Its decimals.
    pub decimals: u8,
}

/// A table of known tokens: symbols for parsing, decimals and symbols for display. `eth`, `gwei` and `wei` (native
/// value) are always known. Start from [`Tokens::for_chain`] (a few well-known tokens of public chains) or
/// [`Tokens::new`], and add your own with [`Tokens::with`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    tokens: Vec<TokenInfo>,
}

impl Tokens {
    /// A table that knows only native value.
    pub const fn new() -> Self {
        Self { tokens: Vec::new() }
    }

    /// Well-known tokens of `chain_id` (Ethereum 1: USDC, USDT, DAI, WETH; Optimism 10, Base 8453 and Arbitrum
    /// 42161: USDC, WETH; Sepolia 11155111: USDC); empty for other chains.
    pub fn for_chain(chain_id: u64) -> Self {
        let list: &[(&str, Address, u8)] = match chain_id {
            1 => &[
                ("USDC", address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"), 6),
                ("USDT", address!("0xdAC17F958D2ee523a2206206994597C13D831ec7"), 6),
                ("DAI", address!("0x6B175474E89094C44Da98b954EedeAC495271d0F"), 18),
                ("WETH", address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"), 18),
            ],
            10 => &[
                ("USDC", address!("0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85"), 6),
                ("WETH", address!("0x4200000000000000000000000000000000000006"), 18),
            ],
            8453 => &[
                ("USDC", address!("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"), 6),
                ("WETH", address!("0x4200000000000000000000000000000000000006"), 18),
            ],
            42_161 => &[
                ("USDC", address!("0xaf88d065e77c8cC2239327C5EDb3A432268e5831"), 6),
                ("WETH", address!("0x82aF49447D8a07e3bd95BD0d56f35241523fBab1"), 18),
            ],
            11_155_111 => &[("USDC", address!("0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"), 6)],
            _ => &[],
        };
        let mut t = Self::new();
        for (symbol, address, decimals) in list {
            t.insert(symbol, *address, *decimals);
        }
        t
    }

    /// Adds (or replaces, by symbol and by address) a token.
    #[must_use]
    pub fn with(mut self, symbol: &str, address: Address, decimals: u8) -> Self {
        self.insert(symbol, address, decimals);
        self
    }

    /// Adds (or replaces, by symbol and by address) a token.
    pub fn insert(&mut self, symbol: &str, address: Address, decimals: u8) {
        self.tokens.retain(|t| !t.symbol.eq_ignore_ascii_case(symbol) && t.address != address);
        self.tokens.push(TokenInfo { symbol: symbol.to_owned(), address, decimals });
    }

    /// The token with this symbol (any case).
    pub fn by_symbol(&self, symbol: &str) -> Option<&TokenInfo> {
        self.tokens.iter().find(|t| t.symbol.eq_ignore_ascii_case(symbol))
    }

    /// The token at this address.
    pub fn by_address(&self, address: Address) -> Option<&TokenInfo> {
        self.tokens.iter().find(|t| t.address == address)
    }

    /// Every token in the table.
    pub fn iter(&self) -> impl Iterator<Item = &TokenInfo> {
        self.tokens.iter()
    }

    /// The decimals of `asset`: 18 for native value, the table's for a token.
    pub fn decimals(&self, asset: Asset) -> Option<u8> {
        match asset {
            Asset::Native => Some(ETH_DECIMALS),
            Asset::Token(a) => self.by_address(a).map(|t| t.decimals),
        }
    }

    /// How `asset` is named in text: `ETH`, a token's symbol, or its address.
    pub fn name(&self, asset: Asset) -> String {
        match asset {
            Asset::Native => "ETH".to_owned(),
            Asset::Token(a) => self.by_address(a).map_or_else(|| a.to_string(), |t| t.symbol.clone()),
        }
    }

    /// `value` base units of `asset` in its units with its name (`0.004 ETH`, `12.5 USDC`), or in base units when
    /// the table does not know the token's decimals (`12500000 0xToken (base units)`).
    pub fn format(&self, asset: Asset, value: U256) -> String {
        match self.decimals(asset) {
            Some(d) => format!("{} {}", format_units(value, d), self.name(asset)),
            None => format!("{value} {} (base units)", self.name(asset)),
        }
    }
}

/// An amount of an asset, in base units, with the decimals it was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    /// What it is an amount of.
    pub asset: Asset,
    /// Base units (wei, or the token's smallest unit).
    pub value: U256,
    /// The asset's decimals.
    pub decimals: u8,
}

impl Amount {
    /// Parses `ASSET:AMOUNT`: `eth:0.5`, `gwei:30`, `wei:1000`, a symbol from `tokens` (`usdc:100`), or a token
    /// address with its decimals from `tokens` (`0xToken:12.5`) or given (`0xToken@6:12.5`).
    pub fn parse(input: &str, tokens: &Tokens) -> Result<Self, UnitsError> {
        let err = |reason| UnitsError::InvalidAmount { input: input.to_owned(), reason };
        let (asset_part, number) = input.trim().split_once(':').ok_or_else(|| err("expected ASSET:AMOUNT"))?;
        let (name, explicit) = match asset_part.split_once('@') {
            Some((name, d)) => {
                let d: u8 = d.trim().parse().map_err(|_| err("decimals after @ must be a number from 0 to 255"))?;
                (name.trim(), Some(d))
            }
            None => (asset_part.trim(), None),
        };
        if name.is_empty() {
            return Err(err("the asset is missing before ':'"));
        }
        let (asset, known) = if name.eq_ignore_ascii_case("eth") || name.eq_ignore_ascii_case("ether") {
            (Asset::Native, Some(ETH_DECIMALS))
        } else if name.eq_ignore_ascii_case("gwei") {
            (Asset::Native, Some(9))
        } else if name.eq_ignore_ascii_case("wei") {
            (Asset::Native, Some(0))
        } else if name.starts_with("0x") || name.starts_with("0X") {
            let token: Address = name.parse().map_err(|_| err("the asset is not a 20-byte address"))?;
            (Asset::Token(token), tokens.by_address(token).map(|t| t.decimals))
        } else {
            let t = tokens
                .by_symbol(name)
                .ok_or_else(|| UnitsError::UnknownToken { input: input.to_owned(), symbol: name.to_owned() })?;
            (Asset::Token(t.address), Some(t.decimals))
        };
        let unit_decimals = match (known, explicit) {
            (Some(k), Some(g)) if k != g && !matches!(asset, Asset::Native) => {
                return Err(UnitsError::DecimalsMismatch { input: input.to_owned(), known: k, given: g });
            }
            (Some(_), Some(_)) if matches!(asset, Asset::Native) => {
                return Err(err("native value takes no @decimals: write eth:, gwei: or wei:"));
            }
            (Some(k), _) => k,
            (None, Some(g)) => g,
            (None, None) => {
                let Asset::Token(token) = asset else { unreachable!("native value always has decimals") };
                return Err(UnitsError::UnknownDecimals { input: input.to_owned(), token });
            }
        };
        let value = parse_units(number, unit_decimals).map_err(|e| e.with_input(input))?;
        // gwei and wei are native value written with fewer decimals: the amount is wei, shown in ETH.
        let decimals = if matches!(asset, Asset::Native) { ETH_DECIMALS } else { unit_decimals };
        Ok(Self { asset, value, decimals })
    }

    /// In units with the asset's name: `0.5 ETH`, `100 USDC`, or the token's address when the table has no
    /// symbol for it.
    pub fn display(&self, tokens: &Tokens) -> String {
        let name = tokens.name(self.asset);
        format!("{} {name}", format_units(self.value, self.decimals))
    }

    /// The input form that parses back to this amount: `eth:0.5`, `usdc:100` (a symbol in `tokens` with the same
    /// decimals), else `0xToken@6:12.5`.
    pub fn to_spec(&self, tokens: &Tokens) -> String {
        let number = format_units(self.value, self.decimals);
        match self.asset {
            Asset::Native => format!("eth:{number}"),
            Asset::Token(a) => match tokens.by_address(a) {
                Some(t) if t.decimals == self.decimals && tokens.by_symbol(&t.symbol) == Some(t) => {
                    format!("{}:{number}", t.symbol.to_ascii_lowercase())
                }
                _ => format!("{a}@{}:{number}", self.decimals),
            },
        }
    }
}

impl UnitsError {
    /// The same error about `input` (the whole text a number was part of).
    fn with_input(self, input: &str) -> Self {
        let input = input.to_owned();
        match self {
            Self::InvalidAmount { reason, .. } => Self::InvalidAmount { input, reason },
            Self::TooPrecise { decimals, .. } => Self::TooPrecise { input, decimals },
            Self::AmountOverflow { .. } => Self::AmountOverflow { input },
            other => other,
        }
    }
}

/// `number` (digits with at most one decimal point: `12.5`, `0.001`, `100`; `_` may separate digits) in base units
/// of an asset with `decimals` decimals. More decimal places than `decimals` are an error unless they are zeros;
/// nothing is rounded.
pub fn parse_units(number: &str, decimals: u8) -> Result<U256, UnitsError> {
    let err = |reason| UnitsError::InvalidAmount { input: number.to_owned(), reason };
    let cleaned: String = number.trim().chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() {
        return Err(err("the amount is empty"));
    }
    let (int, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if int.is_empty() || (cleaned.contains('.') && frac.is_empty()) {
        return Err(err("a decimal point needs digits on both sides"));
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(err("expected digits with at most one decimal point"));
    }
    if number.trim().starts_with('_') || number.trim().ends_with('_') {
        return Err(err("'_' only separates digits"));
    }
    let d = usize::from(decimals);
    let frac = if frac.len() > d {
        if frac.as_bytes()[d..].iter().any(|b| *b != b'0') {
            return Err(UnitsError::TooPrecise { input: number.to_owned(), decimals });
        }
        &frac[..d]
    } else {
        frac
    };
    let mut digits = String::with_capacity(int.len() + d);
    digits.push_str(int);
    digits.push_str(frac);
    digits.extend(std::iter::repeat_n('0', d - frac.len()));
    U256::from_str_radix(&digits, 10).map_err(|_| UnitsError::AmountOverflow { input: number.to_owned() })
}

/// `value` base units written with `decimals` decimals, without trailing zeros: `12500000` with 6 is `12.5`,
/// `1000000` is `1`, `1` with 18 is `0.000000000000000001`.
pub fn format_units(value: U256, decimals: u8) -> String {
    let d = usize::from(decimals);
    let digits = value.to_string();
    if d == 0 {
        return digits;
    }
    let padded = if digits.len() <= d { format!("{}{digits}", "0".repeat(d + 1 - digits.len())) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - d);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_owned() } else { format!("{int}.{frac}") }
}

/// Wei in ETH with its name: `0.004 ETH`.
pub fn format_eth(wei: U256) -> String {
    format!("{} ETH", format_units(wei, ETH_DECIMALS))
}

/// Parses a duration: one or more `<number><unit>` with units `s`, `m`, `h`, `d`, `w` (`30s`, `5m`, `1h30m`,
/// `7d`), spaces allowed between parts, or a bare number of seconds (`300`).
pub fn parse_duration(input: &str) -> Result<Duration, UnitsError> {
    let err = |reason| UnitsError::InvalidDuration { input: input.to_owned(), reason };
    let overflow = || UnitsError::DurationOverflow { input: input.to_owned() };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("the duration is empty"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().map(Duration::from_secs).map_err(|_| overflow());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    let mut last_unit = u64::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err("expected a number before each unit (30s, 5m, 1h, 7d, 2w)"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| overflow())?;
        rest = &rest[digits..];
        let unit = match rest.bytes().next() {
            Some(b's') => 1,
            Some(b'm') => 60,
            Some(b'h') => 3_600,
            Some(b'd') => 86_400,
            Some(b'w') => 604_800,
            None => return Err(err("a number needs a unit (s, m, h, d, w) unless it stands alone")),
            Some(_) => return Err(err("units are s, m, h, d, w")),
        };
        if unit >= last_unit {
            return Err(err("units must go from the largest to the smallest, each once (1h30m)"));
        }
        last_unit = unit;
        rest = rest[1..].trim_start();
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(overflow)?;
    }
    Ok(Duration::from_secs(total))
}

/// Whole seconds of `d` with the largest units first: `1d1h`, `5m`, `1h30m`, `0s` (what [`parse_duration`] reads
/// back; parts of a second are dropped).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        let n = secs / unit;
        if n != 0 {
            out.push_str(&n.to_string());
            out.push(name);
            secs %= unit;
        }
    }
    out
}

/// A rough duration for sentences: the largest unit, and the next one when it is not zero (`3h`, `2h59m`, `45s`,
/// `1d4h`). Rounded down.
pub fn format_duration_short(d: Duration) -> String {
    let secs = d.as_secs();
    let units = [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')];
    let Some(i) = units.iter().position(|(u, _)| secs >= *u) else { return "0s".to_owned() };
    let (u, name) = units[i];
    let mut out = format!("{}{name}", secs / u);
    if let Some((next, next_name)) = units.get(i + 1) {
        let n = (secs % u) / next;
        if n != 0 {
            out.push_str(&n.to_string());
            out.push(*next_name);
        }
    }
    out
}

/// A call rule as typed: a target and a selector, with the function's canonical signature when it was given by
/// name (so that conditions on its arguments can be checked against their types).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallSpec {
    /// The target ([`ANY_TARGET`] for `any`).
    pub target: Address,
    /// The selector ([`ANY_SELECTOR`] for `any`, [`EMPTY_CALLDATA`] for `receive`: calls without data).
    pub selector: FixedBytes<4>,
    /// `name(type,...)` in canonical form, when given by name.
    pub signature: Option<String>,
}

impl CallSpec {
    /// Parses `TARGET:FUNCTION`. TARGET is an address, a token symbol from `tokens`, or `any` / `*` (every
    /// target). FUNCTION is a signature (`transfer(address,uint256)`; argument names and spaces are ignored,
    /// `uint` is `uint256`), a selector (`0xa9059cbb`), `any` / `*` (every selector; never calls without data), or
    /// `receive` (calls without data: plain ETH transfers).
    pub fn parse(input: &str, tokens: &Tokens) -> Result<Self, UnitsError> {
        let err = |reason| UnitsError::InvalidCallSpec { input: input.to_owned(), reason };
        let (target, function) = input.trim().split_once(':').ok_or_else(|| err("expected TARGET:FUNCTION"))?;
        let (target, function) = (target.trim(), function.trim());
        let target = if target == "*" || target.eq_ignore_ascii_case("any") {
            ANY_TARGET
        } else if target.starts_with("0x") || target.starts_with("0X") {
            target.parse().map_err(|_| err("the target is not a 20-byte address"))?
        } else {
            tokens
                .by_symbol(target)
                .map(|t| t.address)
                .ok_or_else(|| UnitsError::UnknownToken { input: input.to_owned(), symbol: target.to_owned() })?
        };
        let (selector, signature) = if function == "*" || function.eq_ignore_ascii_case("any") {
            (FixedBytes(ANY_SELECTOR), None)
        } else if function == "receive" || function == "receive()" {
            (FixedBytes(EMPTY_CALLDATA), None)
        } else if function.contains('(') {
            let sig = FunctionSignature::parse(function)?;
            (sig.selector(), Some(sig.canonical))
        } else if let Some(hex) = function.strip_prefix("0x").or_else(|| function.strip_prefix("0X")) {
            if hex.len() != 8 {
                return Err(err("a selector is 0x and 8 hex digits"));
            }
            let bytes = alloy::primitives::hex::decode(hex).map_err(|_| err("a selector is 0x and 8 hex digits"))?;
            (FixedBytes::from_slice(&bytes), None)
        } else {
            return Err(err("FUNCTION is name(types), a 0x selector, any, or receive"));
        };
        Ok(Self { target, selector, signature })
    }

    /// The input form that parses back to this rule: `usdc:transfer(address,uint256)`, `0xShop:receive`,
    /// `any:0xa9059cbb`, `0xRouter:any`.
    pub fn to_spec(&self, tokens: &Tokens) -> String {
        let target = if self.target == ANY_TARGET {
            "any".to_owned()
        } else {
            match tokens.by_address(self.target) {
                Some(t) if tokens.by_symbol(&t.symbol) == Some(t) => t.symbol.to_ascii_lowercase(),
                _ => self.target.to_string(),
            }
        };
        let function = match &self.signature {
            Some(sig) => sig.clone(),
            None if self.selector.0 == ANY_SELECTOR => "any".to_owned(),
            None if self.selector.0 == EMPTY_CALLDATA => "receive".to_owned(),
            None => self.selector.to_string(),
        };
        format!("{target}:{function}")
    }
}

/// A parsed function signature: its canonical text and its parameter types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSignature {
    /// `name(type,...)` with canonical type names.
    pub canonical: String,
    /// The parameter types, in order.
    pub params: Vec<DynSolType>,
}

impl FunctionSignature {
    /// Parses `name(type [name], ...)`; types are canonicalized (`uint` is `uint256`).
    pub fn parse(input: &str) -> Result<Self, UnitsError> {
        let err = |reason: &str| UnitsError::InvalidSignature { input: input.to_owned(), reason: reason.to_owned() };
        let text = input.trim();
        let open = text.find('(').ok_or_else(|| err("expected name(types)"))?;
        let name = text[..open].trim();
        let body = text[open + 1..].strip_suffix(')').ok_or_else(|| err("expected a closing ')' at the end"))?;
        let mut chars = name.chars();
        let ident_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == '$';
        if !chars.next().is_some_and(ident_start) || !chars.all(|c| ident_start(c) || c.is_ascii_digit()) {
            return Err(err("the function name is not an identifier"));
        }
        let mut params = Vec::new();
        for part in split_top_level(body).map_err(&err)? {
            let part = part.trim();
            if part.is_empty() {
                if body.trim().is_empty() {
                    break;
                }
                return Err(err("an empty parameter"));
            }
            // Drop a parameter name (and a data location): the type is the first word, or a whole tuple.
            let ty = if part.starts_with('(') {
                let close = part.rfind(')').ok_or_else(|| err("unbalanced parentheses"))?;
                let tail = &part[close + 1..];
                let suffix_len = tail.find(char::is_whitespace).unwrap_or(tail.len());
                &part[..close + 1 + suffix_len]
            } else {
                part.split_whitespace().next().unwrap_or(part)
            };
            params.push(DynSolType::parse(ty).map_err(|e| err(&e.to_string()))?);
        }
        let types: Vec<String> = params.iter().map(|t| t.sol_type_name().into_owned()).collect();
        Ok(Self { canonical: format!("{name}({})", types.join(",")), params })
    }

    /// The selector: the first 4 bytes of the canonical signature's keccak256.
    pub fn selector(&self) -> FixedBytes<4> {
        FixedBytes::from_slice(&keccak256(self.canonical.as_bytes())[..4])
    }
}

/// `body` split at commas outside parentheses and brackets.
fn split_top_level(body: &str) -> Result<Vec<&str>, &'static str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in body.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced parentheses");
                }
            }
            ',' if depth == 0 => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced parentheses");
    }
    out.push(&body[start..]);
    Ok(out)
}

impl fmt::Display for Asset {
    /// `ETH` or the token's address (use [`Tokens::name`] for symbols).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Native => f.write_str("ETH"),
            Self::Token(a) => write!(f, "{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: Address = address!("0x00000000000000000000000000000000000000aa");

    fn table() -> Tokens {
        Tokens::for_chain(1).with("TT", TOKEN, 6)
    }

    #[test]
    fn test_amount_parses_every_form() {
        let t = table();
        let usdc = t.by_symbol("usdc").unwrap().address;
        let cases: [(&str, Asset, u128); 8] = [
            ("eth:0.5", Asset::Native, 500_000_000_000_000_000),
            ("ETH:1", Asset::Native, 1_000_000_000_000_000_000),
            ("gwei:30", Asset::Native, 30_000_000_000),
            ("wei:1000", Asset::Native, 1_000),
            ("usdc:100", Asset::Token(usdc), 100_000_000),
            ("USDC:0.000001", Asset::Token(usdc), 1),
            ("tt:12.5", Asset::Token(TOKEN), 12_500_000),
            ("0x00000000000000000000000000000000000000aa:12.5", Asset::Token(TOKEN), 12_500_000),
        ];
        for (input, asset, value) in &cases {
            let a = Amount::parse(input, &t).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!((a.asset, a.value), (*asset, U256::from(*value)), "{input}");
        }
        let explicit = Amount::parse("0x00000000000000000000000000000000000000bb@2:1_000.25", &t).unwrap();
        assert_eq!(explicit.value, U256::from(100_025));
        assert_eq!(explicit.decimals, 2);
        assert_eq!(explicit.display(&t), format!("1000.25 {}", Address::with_last_byte(0xbb)));
        assert_eq!(Amount::parse("usdc:100", &t).unwrap().display(&t), "100 USDC");
        assert_eq!(Amount::parse("gwei:1", &t).unwrap().display(&t), "0.000000001 ETH");
    }

    #[test]
    fn test_amount_errors_name_the_input() {
        let t = table();
        let e = |s: &str| Amount::parse(s, &t).unwrap_err();
        assert!(matches!(e("100"), UnitsError::InvalidAmount { input, .. } if input == "100"));
        assert!(matches!(e(":100"), UnitsError::InvalidAmount { .. }));
        assert!(matches!(e("eth:-1"), UnitsError::InvalidAmount { input, .. } if input == "eth:-1"));
        assert!(matches!(e("eth:1e18"), UnitsError::InvalidAmount { .. }));
        assert!(matches!(e("eth:1."), UnitsError::InvalidAmount { .. }));
        assert!(matches!(e("eth:.5"), UnitsError::InvalidAmount { .. }));
        assert!(matches!(e("eth:"), UnitsError::InvalidAmount { .. }));
        assert!(matches!(e("eth:1__0_"), UnitsError::InvalidAmount { .. }));
        assert!(matches!(e("0x12:1"), UnitsError::InvalidAmount { .. }));
        assert!(matches!(e("eth@18:1"), UnitsError::InvalidAmount { .. }), "native value takes no decimals");
        assert!(matches!(e("tt@x:1"), UnitsError::InvalidAmount { .. }));
        assert!(
            matches!(e("usdc:0.0000001"), UnitsError::TooPrecise { input, decimals: 6 } if input == "usdc:0.0000001")
        );
        assert!(Amount::parse("usdc:0.1000000", &t).is_ok(), "trailing zeros past the decimals are exact");
        assert!(matches!(e(&format!("wei:{}", "9".repeat(78))), UnitsError::AmountOverflow { .. }));
        assert!(matches!(e("doge:1"), UnitsError::UnknownToken { symbol, .. } if symbol == "doge"));
        let unknown = "0x00000000000000000000000000000000000000cc:1";
        assert!(
            matches!(e(unknown), UnitsError::UnknownDecimals { token, .. } if token == Address::with_last_byte(0xcc))
        );
        assert!(matches!(e("usdc@18:1"), UnitsError::DecimalsMismatch { known: 6, given: 18, .. }));
        assert!(Amount::parse("usdc@6:1", &t).is_ok(), "explicit decimals agreeing with the table");
    }

    #[test]
    fn test_units_format_trims_and_pads() {
        assert_eq!(format_units(U256::from(12_500_000), 6), "12.5");
        assert_eq!(format_units(U256::from(1_000_000), 6), "1");
        assert_eq!(format_units(U256::from(1), 18), "0.000000000000000001");
        assert_eq!(format_units(U256::ZERO, 18), "0");
        assert_eq!(format_units(U256::from(42), 0), "42");
        assert_eq!(format_units(U256::from(5), 200), format!("0.{}5", "0".repeat(199)));
        assert_eq!(format_eth(U256::from(4_000_000_000_000_000u64)), "0.004 ETH");
        assert_eq!(
            table().format(Asset::Token(Address::repeat_byte(9)), U256::from(7)),
            format!("7 {} (base units)", Address::repeat_byte(9))
        );
    }

    #[test]
    fn test_duration_parses_and_rejects() {
        for (s, secs) in [
            ("30s", 30),
            ("5m", 300),
            ("1h", 3_600),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("1h30m", 5_400),
            ("1d 2h", 93_600),
            ("300", 300),
            ("0s", 0),
        ] {
            assert_eq!(parse_duration(s).unwrap().as_secs(), secs, "{s}");
        }
        for bad in ["", "m", "5x", "1m1h", "1h1h", "-5m", "5 m", "1.5h", "5m3"] {
            assert!(
                matches!(parse_duration(bad), Err(UnitsError::InvalidDuration { input, .. }) if input == bad),
                "{bad}"
            );
        }
        assert!(matches!(parse_duration("99999999999999999999"), Err(UnitsError::DurationOverflow { .. })));
        assert!(matches!(parse_duration("40000000000000w"), Err(UnitsError::DurationOverflow { .. })));
        assert_eq!(format_duration(Duration::from_secs(93_784)), "1d2h3m4s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration_short(Duration::from_secs(10_799)), "2h59m");
        assert_eq!(format_duration_short(Duration::from_hours(3)), "3h");
        assert_eq!(format_duration_short(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration_short(Duration::ZERO), "0s");
    }

    #[test]
    fn test_call_spec_parses_every_form() {
        let t = table();
        let usdc = t.by_symbol("usdc").unwrap().address;
        let c = CallSpec::parse("0x00000000000000000000000000000000000000aa:transfer(address,uint256)", &t).unwrap();
        assert_eq!((c.target, c.selector.0), (TOKEN, [0xa9, 0x05, 0x9c, 0xbb]));
        let c = CallSpec::parse("usdc: approve(address spender, uint amount)", &t).unwrap();
        assert_eq!((c.target, c.signature.as_deref()), (usdc, Some("approve(address,uint256)")));
        assert_eq!(c.selector.0, [0x09, 0x5e, 0xa7, 0xb3]);
        let c = CallSpec::parse("any:0xa9059cbb", &t).unwrap();
        assert_eq!((c.target, c.selector.0, c.signature), (ANY_TARGET, [0xa9, 0x05, 0x9c, 0xbb], None));
        assert_eq!(CallSpec::parse("tt:any", &t).unwrap().selector.0, ANY_SELECTOR);
        assert_eq!(CallSpec::parse("tt:receive", &t).unwrap().selector.0, EMPTY_CALLDATA);
        let tuple = CallSpec::parse("tt:f((address,uint256)[] calldata xs, bytes32)", &t).unwrap();
        assert_eq!(tuple.signature.as_deref(), Some("f((address,uint256)[],bytes32)"));
        let e = |s: &str| CallSpec::parse(s, &t).unwrap_err();
        assert!(matches!(e("0xaa"), UnitsError::InvalidCallSpec { .. }));
        assert!(matches!(e("0x12:any"), UnitsError::InvalidCallSpec { .. }));
        assert!(matches!(e("tt:0x1234"), UnitsError::InvalidCallSpec { .. }));
        assert!(matches!(e("tt:0xzzzzzzzz"), UnitsError::InvalidCallSpec { .. }));
        assert!(matches!(e("tt:transfer"), UnitsError::InvalidCallSpec { .. }));
        assert!(matches!(e("doge:any"), UnitsError::UnknownToken { .. }));
        assert!(matches!(e("tt:transfer(address"), UnitsError::InvalidSignature { .. }));
        assert!(matches!(e("tt:1x(address)"), UnitsError::InvalidSignature { .. }));
        assert!(matches!(e("tt:f(uint7)"), UnitsError::InvalidSignature { .. }));
        assert!(matches!(e("tt:f(address,)"), UnitsError::InvalidSignature { .. }));
        assert!(matches!(e("tt:f((address)"), UnitsError::InvalidSignature { .. }));
        assert!(matches!(e("tt:f(address))"), UnitsError::InvalidSignature { .. }));
    }

    fn asset() -> impl Strategy<Value = (Asset, u8)> {
        prop_oneof![
            Just((Asset::Native, ETH_DECIMALS)),
            Just((Asset::Token(TOKEN), 6)),
            (any::<[u8; 20]>(), 0u8..=80).prop_map(|(a, d)| (Asset::Token(Address::from(a)), d)),
        ]
    }

    fn u256() -> impl Strategy<Value = U256> {
        prop_oneof![any::<u64>().prop_map(U256::from), any::<[u8; 32]>().prop_map(U256::from_be_bytes)]
    }

    proptest! {
        #[test]
        fn prop_units_round_trip(value in u256(), decimals in 0u8..=90) {
            let text = format_units(value, decimals);
            prop_assert_eq!(parse_units(&text, decimals).unwrap(), value, "{}", text);
        }

        #[test]
        fn prop_amount_spec_round_trips((asset, decimals) in asset(), value in u256()) {
            let t = table();
            let decimals = if asset == Asset::Token(TOKEN) { 6 } else { decimals };
            let amount = Amount { asset, value, decimals };
            let spec = amount.to_spec(&t);
            prop_assert_eq!(Amount::parse(&spec, &t).unwrap(), amount, "{}", spec);
        }

        #[test]
        fn prop_duration_round_trips(secs in any::<u64>()) {
            let d = Duration::from_secs(secs);
            prop_assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }

        #[test]
        fn prop_parse_never_panics(s in "\\PC{0,40}") {
            let t = table();
            let _ = Amount::parse(&s, &t);
            let _ = parse_duration(&s);
            let _ = CallSpec::parse(&s, &t);
        }

        #[test]
        fn prop_call_spec_round_trips(target in any::<[u8; 20]>(), selector in any::<[u8; 4]>(), named in any::<bool>()) {
            let t = table();
            let spec = if named {
                CallSpec::parse(&format!("{}:f{}(address,uint256)", Address::from(target), selector[0]), &t).unwrap()
            } else {
                CallSpec { target: Address::from(target), selector: FixedBytes(selector), signature: None }
            };
            prop_assert_eq!(CallSpec::parse(&spec.to_spec(&t), &t).unwrap(), spec);
        }
    }
}
