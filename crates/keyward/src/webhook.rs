//! Signed webhooks for key events: a grant, a revocation or a use of a key as an HTTP POST to an application's
//! endpoint, signed with HMAC-SHA256 so the endpoint knows it came from its watcher (`keyward watch --webhook`).
//!
//! - [`notification`] turns a [`KeyEvent`] into the JSON body: `delegation.created` (one per grant, with the key, its
//!   window and its hook), `delegation.revoked` (one key, or every key with `"allKeys": true`), `delegation.used`.
//!   Other events have no webhook. Each has an `id`, `"<transaction hash>:<log index>"`, unique per event.
//! - [`WebhookSender::deliver`] POSTs it until the endpoint answers 2xx, with exponential backoff; each attempt is
//!   signed anew. Delivery is at least once: a watcher that saves its [`crate::client::Cursor`] after each delivered
//!   event resumes at the first undelivered one, so a restart or an outage loses nothing, and an endpoint that
//!   ignores an `id` it has already processed sees every event exactly once.
//! - Headers: [`ID_HEADER`] (the `id`), [`TIMESTAMP_HEADER`] (unix seconds), [`SIGNATURE_HEADER`]
//!   (`v1=` and the hex HMAC-SHA256, keyed with the shared secret, of `"{timestamp}.{body}"`). [`verify`] is the
//!   endpoint's check: recompute the HMAC over the raw body, compare in constant time, refuse a timestamp more than
//!   a few minutes away from now (a replayed request).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::{
    primitives::{Address, hex},
    transports::http::reqwest::{self, Url},
};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::client::KeyEvent;

/// The header carrying the event's id, `"<transaction hash>:<log index>"`: the endpoint's deduplication key.
pub const ID_HEADER: &str = "keyward-webhook-id";
/// The header carrying the unix time (seconds) the request was signed at.
pub const TIMESTAMP_HEADER: &str = "keyward-webhook-timestamp";
/// The header carrying `v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
pub const SIGNATURE_HEADER: &str = "keyward-webhook-signature";
/// How far a request's timestamp may be from the endpoint's clock in [`verify`] by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_mins(5);

/// Why a webhook was not delivered, or not accepted by [`verify`].
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The request did not reach the endpoint, or its answer did not come back.
    #[error("webhook POST to {url} failed")]
    Http {
        /// The endpoint.
        url: Url,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The endpoint answered with a status other than 2xx.
    #[error("webhook endpoint {url} answered HTTP {status}")]
    Status {
        /// The endpoint.
        url: Url,
        /// The HTTP status.
        status: u16,
    },
    /// A header is missing or not in its format.
    #[error("webhook header {header}: {problem}")]
    Malformed {
        /// The header.
        header: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// The timestamp is too far from now (a replayed or delayed request).
    #[error("webhook timestamp {timestamp} is more than {tolerance:?} away from now ({now})")]
    Stale {
        /// The request's timestamp.
        timestamp: u64,
        /// The endpoint's clock.
        now: u64,
        /// The tolerance.
        tolerance: Duration,
    },
    /// The signature is not the HMAC of this timestamp and body under the secret.
    #[error("webhook signature does not match the body and timestamp")]
    BadSignature,
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// The [`SIGNATURE_HEADER`] value for `body` signed at `timestamp`: `v1=` and the hex HMAC-SHA256 of
/// `"{timestamp}.{body}"`.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1={}", hex::encode(hmac_sha256(secret, &message)))
}

/// The endpoint's check of a request: `timestamp` and `signature` are the [`TIMESTAMP_HEADER`] and
/// [`SIGNATURE_HEADER`] values, `body` the raw body (before any JSON parsing), `now` the endpoint's unix time.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: u64,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let malformed = |header, problem| WebhookError::Malformed { header, problem };
    let ts: u64 = timestamp.trim().parse().map_err(|_| malformed(TIMESTAMP_HEADER, "not unix seconds"))?;
    if ts.abs_diff(now) > tolerance.as_secs() {
        return Err(WebhookError::Stale { timestamp: ts, now, tolerance });
    }
    let given = signature.trim().strip_prefix("v1=").ok_or(malformed(SIGNATURE_HEADER, "no v1= prefix"))?;
    let given = hex::decode(given).map_err(|_| malformed(SIGNATURE_HEADER, "not hex"))?;
    let expected = self::signature(secret, ts, body);
    let expected = hex::decode(&expected[3..]).map_err(|_| malformed(SIGNATURE_HEADER, "not hex"))?;
    // Constant time: every byte is compared whatever the first difference.
    let diff = given.len() ^ expected.len() | given.iter().zip(&expected).fold(0, |d, (a, b)| d | usize::from(a ^ b));
    if diff != 0 {
        return Err(WebhookError::BadSignature);
    }
    Ok(())
}

/// One webhook: its id (`"<transaction hash>:<log index>"`), its type and its JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// `"<transaction hash>:<log index>"`, unique per event: the deduplication key.
    pub id: String,
    /// `delegation.created`, `delegation.revoked` or `delegation.used`.
    pub kind: &'static str,
    /// The JSON body, as sent and signed.
    pub body: Vec<u8>,
}

/// The webhook for `event` of `account` on `chain_id`, `None` for events without one (settings updates, gas
/// budgets, nonces, salt, EntryPoint and native approvals).
pub fn notification(event: &KeyEvent, account: Address, chain_id: u64) -> Option<Notification> {
    let (block, tx, log_index) = event.position();
    let (kind, data) = match event {
        KeyEvent::Granted { key, key_hash, settings, gas_budget, .. } => (
            "delegation.created",
            json!({
                "keyHash": key_hash, "keyType": format!("{:?}", key.keyType), "publicKey": key.publicKey,
                "validAfter": settings.valid_after(), "expiration": settings.expiration(),
                "neverExpires": settings.expiration() == 0, "hook": settings.hook(), "admin": settings.is_admin(),
                "flags": settings.flags().to_string(), "settings": settings.to_string(),
                "gasBudget": gas_budget.as_ref().map(|b| json!({
                    "perPeriod": b.perPeriod.to_string(), "period": b.period.to::<u64>(), "lifetime": b.lifetime.to_string(),
                })),
            }),
        ),
        KeyEvent::Revoked { key_hash, .. } => ("delegation.revoked", json!({ "keyHash": key_hash, "allKeys": false })),
        KeyEvent::AllRevoked { epoch, .. } => {
            ("delegation.revoked", json!({ "keyHash": null, "allKeys": true, "epoch": epoch.to_string() }))
        }
        KeyEvent::Used { key_hash, .. } => ("delegation.used", json!({ "keyHash": key_hash })),
        _ => return None,
    };
    let id = format!("{tx}:{log_index}");
    let body = json!({
        "id": id, "type": kind, "account": account, "chainId": chain_id,
        "block": block, "tx": tx, "logIndex": log_index, "data": data,
    });
    Some(Notification { id, kind, body: body.to_string().into_bytes() })
}

/// Delivers [`Notification`]s to one endpoint, signed with a shared secret, retrying with exponential backoff.
#[derive(Clone, Debug)]
pub struct WebhookSender {
    http: reqwest::Client,
    url: Url,
    secret: Vec<u8>,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl WebhookSender {
    /// A sender to `url` signing with `secret`; backoff from 500 ms doubling up to 60 s; 10 s per request.
    pub fn new(url: Url, secret: impl Into<Vec<u8>>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self {
            http,
            url,
            secret: secret.into(),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_mins(1),
        }
    }

    /// The wait after the first failed attempt, doubled after each further one up to `max`.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The endpoint.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// One signed attempt: `Ok` when the endpoint answered 2xx.
    pub async fn post(&self, n: &Notification) -> Result<(), WebhookError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let response = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header(ID_HEADER, &n.id)
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, signature(&self.secret, now, &n.body))
            .body(n.body.clone())
            .send()
            .await
            .map_err(|source| WebhookError::Http { url: self.url.clone(), source })?;
        let status = response.status();
        if !status.is_success() {
            return Err(WebhookError::Status { url: self.url.clone(), status: status.as_u16() });
        }
        Ok(())
    }

    /// Delivers `n`: attempts until the endpoint answers 2xx (never gives up: stop the future to stop), waiting
    /// with exponential backoff between attempts; `on_retry(attempt, error, wait)` hears of each failure. Returns
    /// the number of attempts.
    pub async fn deliver(&self, n: &Notification, mut on_retry: impl FnMut(u32, &WebhookError, Duration)) -> u32 {
        let mut wait = self.initial_backoff;
        let mut attempt = 1;
        loop {
            match self.post(n).await {
                Ok(()) => return attempt,
                Err(e) => {
                    on_retry(attempt, &e, wait);
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.max_backoff);
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{B256, TxHash, U256};

    use super::*;
    use crate::{KeyExt, Settings, bindings::Key};

    #[test]
    fn test_webhook_hmac_matches_rfc_4231() {
        // RFC 4231 test cases 1 and 2, and case 6 (a key longer than the block).
        let h = |key: &[u8], msg: &[u8]| hex::encode(hmac_sha256(key, msg));
        assert_eq!(h(&[0x0b; 20], b"Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        assert_eq!(
            h(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            h(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn test_webhook_verify_accepts_its_signature_and_refuses_tampering() {
        let (secret, body, t) = (b"s3cret".as_slice(), br#"{"id":"x"}"#.as_slice(), 1_700_000_000u64);
        let sig = signature(secret, t, body);
        let tol = DEFAULT_TOLERANCE;
        assert!(verify(secret, &t.to_string(), &sig, body, t, tol).is_ok());
        // At the tolerance's edge: accepted; one second past it: refused as stale (both directions).
        assert!(verify(secret, &t.to_string(), &sig, body, t + 300, tol).is_ok());
        assert!(matches!(verify(secret, &t.to_string(), &sig, body, t + 301, tol), Err(WebhookError::Stale { .. })));
        assert!(matches!(verify(secret, &t.to_string(), &sig, body, t - 301, tol), Err(WebhookError::Stale { .. })));
        let bad = |r: Result<(), WebhookError>| matches!(r, Err(WebhookError::BadSignature));
        assert!(bad(verify(b"other", &t.to_string(), &sig, body, t, tol)), "another secret");
        assert!(bad(verify(secret, &t.to_string(), &sig, br#"{"id":"y"}"#, t, tol)), "another body");
        assert!(bad(verify(secret, &(t + 1).to_string(), &sig, body, t, tol)), "another timestamp");
        assert!(bad(verify(secret, &t.to_string(), &sig[..sig.len() - 2], body, t, tol)), "truncated");
        assert!(matches!(verify(secret, &t.to_string(), &sig[3..], body, t, tol), Err(WebhookError::Malformed { .. })));
        assert!(matches!(verify(secret, "soon", &sig, body, t, tol), Err(WebhookError::Malformed { .. })));
    }

    #[test]
    fn test_webhook_notification_per_event_kind() {
        let key = Key::secp256k1(Address::repeat_byte(1));
        let hook = Address::with_last_byte(0x1f);
        let settings = Settings::builder().valid_after(5).expires_at(99).hook(hook).build().unwrap();
        let tx = TxHash::repeat_byte(7);
        let granted = KeyEvent::Granted {
            key: key.clone(),
            key_hash: key.hash(),
            settings,
            gas_budget: None,
            block: 3,
            tx,
            log_index: 4,
        };
        let n = notification(&granted, Address::repeat_byte(0xac), 31_337).unwrap();
        assert_eq!((n.kind, n.id.as_str()), ("delegation.created", format!("{tx}:4").as_str()));
        let v: serde_json::Value = serde_json::from_slice(&n.body).unwrap();
        assert_eq!(v["data"]["keyHash"], key.hash().to_string());
        assert_eq!((v["data"]["validAfter"].as_u64(), v["data"]["expiration"].as_u64()), (Some(5), Some(99)));
        assert_eq!(v["data"]["hook"], hook.to_string().to_lowercase());
        assert_eq!((v["chainId"].as_u64(), v["logIndex"].as_u64()), (Some(31_337), Some(4)));
        let revoked = KeyEvent::Revoked { key_hash: B256::ZERO, block: 1, tx, log_index: 5 };
        assert_eq!(notification(&revoked, Address::ZERO, 1).unwrap().kind, "delegation.revoked");
        let all = KeyEvent::AllRevoked { epoch: U256::from(2), block: 1, tx, log_index: 6 };
        assert_eq!(notification(&all, Address::ZERO, 1).unwrap().kind, "delegation.revoked");
        let used = KeyEvent::Used { key_hash: B256::ZERO, block: 1, tx, log_index: 7 };
        assert_eq!(notification(&used, Address::ZERO, 1).unwrap().kind, "delegation.used");
        assert!(notification(&KeyEvent::DomainChanged { block: 1, tx, log_index: 8 }, Address::ZERO, 1).is_none());
    }
}
