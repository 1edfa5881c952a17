//! Differential tests: Rust against the contracts, byte for byte, on 1,000 random cases per kind written by the
//! forge test `test/Vectors.t.sol` (Keyward, its libraries and the real EntryPoint v0.8 computed the answers).
//! `make test` runs forge first, then these tests with `--include-ignored`.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, B256, U256, hex},
    sol_types::SolValue,
};
use eyre::{Result, WrapErr, ensure};
use keyward::{
    KeyExt, Settings,
    bindings::{Key, PackedUserOperation, SignedBatchedCall},
    eip712, userop,
};

const WHY: &str = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it";

fn read<T>(name: &str) -> Result<T>
where
    T: SolValue + From<<T::SolType as alloy::sol_types::SolType>::RustType>,
{
    let dir = std::env::var_os("KEYWARD_VECTORS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/vectors"), PathBuf::from);
    let path = dir.join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path).wrap_err_with(|| {
        format!(
            "reading {}: the differential vectors are missing; forge writes them (`forge test --match-contract VectorsTest`, \
             test/Vectors.t.sol; `make test` runs it first)",
            path.display()
        )
    })?;
    let bytes = hex::decode(text.trim())?;
    T::abi_decode(&bytes).wrap_err_with(|| format!("decoding {name}"))
}

fn meta() -> Result<(Address, Address, u64, Address)> {
    let (account, implementation, chain_id, entry_point) = read::<(Address, Address, U256, Address)>("meta")?;
    Ok((account, implementation, chain_id.to(), entry_point))
}

#[test]
#[ignore = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it"]
fn settings_packing_matches_solidity() -> Result<()> {
    let cases = read::<Vec<(U256, Address, u64, bool, u64, U256, bool)>>("settings")?;
    ensure!(cases.len() >= 1000, "{WHY}");
    for (raw, hook, expiration, admin, valid_after, validation_data, canonical) in cases {
        match Settings::try_from(raw) {
            Ok(s) => {
                ensure!(canonical, "Rust accepted non-canonical {raw:#x}");
                ensure!(s.hook() == hook && s.expiration() == expiration && s.is_admin() == admin);
                ensure!(s.valid_after() == valid_after);
                ensure!(s.validation_data() == validation_data, "validationData of {raw:#x}");
                let rebuilt = Settings::builder()
                    .hook(hook)
                    .expires_at(expiration)
                    .admin(admin)
                    .valid_after(valid_after)
                    .flags(s.flags())
                    .build()?;
                ensure!(rebuilt.to_u256() == raw, "builder packs {raw:#x} differently");
            }
            // Stricter than the contract's word check, never looser: only for a hook that enables no callback
            // (which the contract's grant and update refuse).
            Err(keyward::Error::HookWithoutCallbacks { hook: h }) if canonical => {
                ensure!(h == hook && !keyward::hooks::has_any(h), "{raw:#x}");
            }
            Err(e) => ensure!(!canonical, "Rust rejected canonical {raw:#x}: {e}"),
        }
    }
    Ok(())
}

#[test]
#[ignore = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it"]
fn key_hashes_match_solidity() -> Result<()> {
    let cases = read::<Vec<(Key, B256)>>("keys")?;
    ensure!(cases.len() >= 1000, "{WHY}");
    for (key, hash) in cases {
        ensure!(key.hash() == hash, "key hash of {key:?}");
    }
    Ok(())
}

#[test]
#[ignore = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it"]
fn signed_batch_digests_match_solidity() -> Result<()> {
    let (account, implementation, chain_id, _) = meta()?;
    let domain = eip712::account_domain(account, chain_id, implementation);
    let cases = read::<Vec<(SignedBatchedCall, B256)>>("batches")?;
    ensure!(cases.len() >= 1000, "{WHY}");
    for (batch, digest) in cases {
        ensure!(eip712::signed_batch_digest(&batch, &domain) == digest, "digest of {batch:?}");
    }
    Ok(())
}

#[test]
#[ignore = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it"]
fn erc7739_digests_match_solidity() -> Result<()> {
    let (account, implementation, chain_id, _) = meta()?;
    let domain = eip712::account_domain(account, chain_id, implementation);
    let personal = read::<Vec<(B256, B256)>>("personal")?;
    ensure!(personal.len() >= 1000, "{WHY}");
    for (hash, digest) in personal {
        ensure!(eip712::personal_sign_digest(hash, &domain) == digest);
    }
    let typed = read::<Vec<(B256, B256, String, B256)>>("typed")?;
    ensure!(typed.len() >= 1000, "{WHY}");
    for (app, contents, descr, digest) in typed {
        let ours = eip712::typed_data_sign_digest(app, contents, &descr, &domain).unwrap_or_default();
        ensure!(ours == digest, "TypedDataSign digest for {descr:?}");
    }
    Ok(())
}

#[test]
#[ignore = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it"]
fn user_op_hashes_match_the_real_entry_point() -> Result<()> {
    let (_, _, chain_id, entry_point) = meta()?;
    ensure!(entry_point == userop::ENTRY_POINT_V08);
    let cases = read::<Vec<(PackedUserOperation, B256)>>("userops")?;
    ensure!(cases.len() >= 1000, "{WHY}");
    for (op, hash) in cases {
        ensure!(userop::user_op_hash(&op, entry_point, chain_id, None) == hash, "userOpHash of {op:?}");
    }
    Ok(())
}

/// The other direction: Rust signs, Solidity verifies. Writes `rust_signatures.hex`, which the forge test
/// `RustSignaturesTest` (run by `make test` after cargo) checks with the contract: raw signatures through KeyLib, and
/// ERC-1271 (PersonalSign and TypedDataSign) through `isValidSignature` on the account of the vectors.
#[test]
#[ignore = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it"]
fn write_rust_signatures_for_solidity() -> Result<()> {
    use alloy::signers::local::PrivateKeySigner;
    use keyward::{KeySigner, P256KeySigner, Secp256k1Signer, WebAuthnSigner};

    let (account, implementation, chain_id, _) = meta()?;
    let domain = eip712::account_domain(account, chain_id, implementation);
    let secp = Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::repeat_byte(0x01))?);
    let p256 = P256KeySigner::from_bytes(&[0x02; 32])?;
    let webauthn = WebAuthnSigner::new(P256KeySigner::from_bytes(&[0x03; 32])?.0, "keyward.test");
    let signers: [&dyn KeySigner; 3] = [&secp, &p256, &webauthn];
    let app = B256::repeat_byte(0xaa);
    let mut cases = Vec::new();
    for (i, signer) in signers.iter().enumerate() {
        for j in 0u8..20 {
            let digest = alloy::primitives::keccak256([u8::try_from(i)?, j]);
            let contents = alloy::primitives::keccak256([j, 0xcc]);
            cases.push((
                signer.key(),
                digest,
                signer.sign_digest(digest)?,
                signer.sign_1271_personal(digest, &domain, alloy::primitives::Bytes::new())?,
                contents,
                signer.sign_1271_typed(app, contents, "Mail(address to)", &domain, alloy::primitives::Bytes::new())?,
            ));
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/vectors");
    std::fs::write(dir.join("rust_signatures.hex"), hex::encode_prefixed((app, cases).abi_encode_params()))?;
    Ok(())
}

#[test]
#[ignore = "needs the vectors forge writes (test/Vectors.t.sol): `make test` runs it"]
fn deployment_addresses_match_the_forge_script() -> Result<()> {
    let (keyward_addr, hook_salt, hook) = read::<(Address, B256, Address)>("deploy")?;
    ensure!(keyward::deploy::keyward_address() == keyward_addr, "Keyward CREATE2 address");
    ensure!(keyward::deploy::policy_hook_salt() == hook_salt, "PolicyHook salt");
    ensure!(keyward::deploy::policy_hook_address() == hook, "PolicyHook CREATE2 address");
    Ok(())
}
