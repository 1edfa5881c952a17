//! `cargo bench -p keyward`: encoders against the same encoding written directly with alloy, key hashing, the
//! EIP-712 digest of a 2-call batch, userOpHash, and signing with each key type.
#![allow(missing_docs, clippy::semicolon_if_nothing_returned)]

use std::hint::black_box;

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use criterion::{Criterion, criterion_group, criterion_main};
use keyward::{
    KeyExt, KeySigner, P256KeySigner, Secp256k1Signer, Settings, WebAuthnSigner,
    bindings::{BatchedCall, Call, IKeyward, Key, SignedBatchedCall},
    eip712, encode, userop,
};

fn benches(c: &mut Criterion) {
    let key = Key::secp256k1(Address::repeat_byte(0xaa));
    let settings = Settings::builder().expires_at(1_900_000_000).build().unwrap();

    c.bench_function("encode register (keyward)", |b| b.iter(|| encode::register(black_box(&key))));
    c.bench_function("encode register (alloy directly)", |b| {
        b.iter(|| Bytes::from(IKeyward::registerCall { key: black_box(&key).clone() }.abi_encode()))
    });
    c.bench_function("encode grant (keyward)", |b| b.iter(|| encode::grant(black_box(&key), black_box(settings))));
    c.bench_function("hash key", |b| b.iter(|| black_box(&key).hash()));

    let domain = eip712::account_domain(Address::repeat_byte(1), 1, Address::repeat_byte(2));
    let call = Call { to: Address::repeat_byte(3), value: U256::from(1), data: Bytes::from(vec![0xab; 68]) };
    let batch = SignedBatchedCall {
        batchedCall: BatchedCall { calls: vec![call.clone(), call], revertOnFailure: true },
        nonce: U256::from(5),
        keyHash: key.hash(),
        executor: Address::ZERO,
        deadline: U256::ZERO,
    };
    c.bench_function("EIP-712 digest, 2-call batch", |b| {
        b.iter(|| eip712::signed_batch_digest(black_box(&batch), black_box(&domain)))
    });
    let separator = domain.separator();
    c.bench_function("EIP-712 digest, 2-call batch, cached separator", |b| {
        b.iter(|| eip712::typed_data_hash(separator, eip712::signed_batch_struct_hash(black_box(&batch))))
    });

    let op = userop::UserOpBuilder::new(Address::repeat_byte(4), U256::from(9))
        .call(encode::self_call(encode::revoke_all()))
        .build_for_estimate();
    c.bench_function("userOpHash", |b| {
        b.iter(|| userop::user_op_hash(black_box(&op), userop::ENTRY_POINT_V08, 1, None))
    });

    let digest = B256::repeat_byte(0x42);
    let secp = Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap());
    let p256 = P256KeySigner::from_bytes(&[2; 32]).unwrap();
    let webauthn = WebAuthnSigner::new(P256KeySigner::from_bytes(&[3; 32]).unwrap().0, "keyward.test");
    c.bench_function("sign secp256k1", |b| b.iter(|| secp.sign_digest(black_box(digest)).unwrap()));
    c.bench_function("sign P256", |b| b.iter(|| p256.sign_digest(black_box(digest)).unwrap()));
    c.bench_function("sign WebAuthn", |b| b.iter(|| webauthn.sign_digest(black_box(digest)).unwrap()));
}

criterion_group!(keyward, benches);
criterion_main!(keyward);
