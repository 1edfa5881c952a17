//! The JSON-RPC client.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U64},
    providers::Provider,
    transports::http::reqwest::{self, Url, header},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    Error as BundlerError, ErrorKind,
    bundler::{
        error::RpcError,
        types::{
            FeeQuote, FeeSource, Fees, GasEstimate, GasPriceTiers, UserOperation, UserOperationByHash,
            UserOperationReceipt,
        },
    },
    userop::ENTRY_POINT_V08,
};

/// No parameters: `[]` (Alto refuses `null`).
const NO_PARAMS: [(); 0] = [];

/// How long one request may take unless [`BundlerClient::with_request_timeout`] says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`BundlerClient::wait_for_receipt`] asks, unless [`BundlerClient::with_poll_interval`] says otherwise.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A client for an ERC-4337 bundler's JSON-RPC (`eth_*UserOperation*`, plus Pimlico's gas price), for one
/// EntryPoint (v0.8 by default).
#[derive(Debug)]
pub struct BundlerClient {
    http: reqwest::Client,
    url: Url,
    entry_point: Address,
    poll_interval: Duration,
    next_id: AtomicU64,
}

impl Clone for BundlerClient {
    fn clone(&self) -> Self {
        Self {
            http: self.http.clone(),
            url: self.url.clone(),
            entry_point: self.entry_point,
            poll_interval: self.poll_interval,
            next_id: AtomicU64::new(self.next_id.load(Ordering::Relaxed)),
        }
    }
}

fn http_client(timeout: Duration) -> reqwest::Client {
    // Building fails only when the TLS backend cannot initialize; the plain default client is then the best we
    // have (it fails the same way on its first https request, as a transport error).
    reqwest::Client::builder().timeout(timeout).build().unwrap_or_default()
}

impl BundlerClient {
    /// A client of the bundler at `url`, for EntryPoint v0.8.
    pub fn new(url: Url) -> Self {
        Self {
            http: http_client(DEFAULT_REQUEST_TIMEOUT),
            url,
            entry_point: ENTRY_POINT_V08,
            poll_interval: DEFAULT_POLL_INTERVAL,
            next_id: AtomicU64::new(1),
        }
    }

    /// The same client for another EntryPoint.
    #[must_use]
    pub fn with_entry_point(mut self, entry_point: Address) -> Self {
        self.entry_point = entry_point;
        self
    }

    /// The same client with another per-request timeout (gas estimation can take seconds).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.http = http_client(timeout);
        self
    }

    /// The same client polling receipts at another interval.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The bundler's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The EntryPoint the operations go to.
    pub fn entry_point(&self) -> Address {
        self.entry_point
    }

    /// One JSON-RPC call.
    pub async fn request<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &'static str,
        params: P,
    ) -> Result<R, BundlerError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let response = self
            .http
            .post(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|source| BundlerError::Transport { method, source })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|source| BundlerError::Transport { method, source })?;
        let answer: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(source) => {
                if (200..300).contains(&status) {
                    return Err(BundlerError::BundlerDecode { method, source });
                }
                return Err(BundlerError::Http { method, status, body: String::from_utf8_lossy(&bytes).into_owned() });
            }
        };
        if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
            return Err(BundlerError::Bundler(Box::new(RpcError {
                method,
                code: error.get("code").and_then(serde_json::Value::as_i64),
                message: error.get("message").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
                data: error.get("data").filter(|d| !d.is_null()).cloned(),
                http_status: status,
            })));
        }
        if !(200..300).contains(&status) {
            return Err(BundlerError::Http { method, status, body: String::from_utf8_lossy(&bytes).into_owned() });
        }
        let result = answer.get("result").cloned().unwrap_or(serde_json::Value::Null);
        serde_json::from_value(result).map_err(|source| BundlerError::BundlerDecode { method, source })
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, BundlerError> {
        let id: U64 = self.request("eth_chainId", NO_PARAMS).await?;
        Ok(id.to())
    }

    /// `eth_supportedEntryPoints`.
    pub async fn supported_entry_points(&self) -> Result<Vec<Address>, BundlerError> {
        self.request("eth_supportedEntryPoints", NO_PARAMS).await
    }

    /// `eth_estimateUserOperationGas`: gas limits for `op`. Its signature must have the final one's shape (Keyward
    /// checks signatures without reverting, so a signature over the not-yet-estimated operation does); gas and
    /// fee fields are ignored.
    pub async fn estimate_user_operation_gas(&self, op: &UserOperation) -> Result<GasEstimate, BundlerError> {
        self.request("eth_estimateUserOperationGas", (op, self.entry_point)).await
    }

    /// `eth_sendUserOperation`: the userOpHash the bundler accepted.
    pub async fn send_user_operation(&self, op: &UserOperation) -> Result<B256, BundlerError> {
        self.request("eth_sendUserOperation", (op, self.entry_point)).await
    }

    /// `eth_getUserOperationReceipt`: `None` until the operation is mined.
    pub async fn get_user_operation_receipt(
        &self,
        user_op_hash: B256,
    ) -> Result<Option<UserOperationReceipt>, BundlerError> {
        self.request("eth_getUserOperationReceipt", [user_op_hash]).await
    }

    /// `eth_getUserOperationByHash`: the mined operation, `None` while it is pending or unknown.
    pub async fn get_user_operation_by_hash(
        &self,
        user_op_hash: B256,
    ) -> Result<Option<UserOperationByHash>, BundlerError> {
        self.request("eth_getUserOperationByHash", [user_op_hash]).await
    }

    /// `pimlico_getUserOperationGasPrice` (Alto, Pimlico): the fee caps the bundler accepts, in three tiers.
    pub async fn user_operation_gas_price(&self) -> Result<GasPriceTiers, BundlerError> {
        self.request("pimlico_getUserOperationGasPrice", NO_PARAMS).await
    }

    /// Fee caps for an operation: the bundler's standard tier, or, when it has no `pimlico_getUserOperationGasPrice`,
    /// the node's ([`node_fees`]).
    pub async fn fees<P: Provider>(&self, node: &P) -> Result<FeeQuote, BundlerError> {
        match self.user_operation_gas_price().await {
            Ok(tiers) => Ok(FeeQuote { fees: tiers.standard, source: FeeSource::Bundler }),
            Err(BundlerError::Bundler(e)) if e.is_unsupported_method() => node_fees(node).await,
            Err(e) => Err(e),
        }
    }

    /// Polls `eth_getUserOperationReceipt` until the operation is mined or `timeout` passes. Transient failures
    /// (the network, a bundler restarting) are retried until then; other errors end the wait.
    pub async fn wait_for_receipt(
        &self,
        user_op_hash: B256,
        timeout: Duration,
    ) -> Result<UserOperationReceipt, BundlerError> {
        let start = Instant::now();
        loop {
            match self.get_user_operation_receipt(user_op_hash).await {
                Ok(Some(receipt)) => return Ok(receipt),
                Ok(None) => {}
                Err(e) if e.kind() == ErrorKind::Transient && start.elapsed() < timeout => {}
                Err(e) => return Err(e),
            }
            let waited = start.elapsed();
            let Some(left) = timeout.checked_sub(waited).filter(|d| !d.is_zero()) else {
                return Err(BundlerError::ReceiptTimeout { user_op_hash, waited });
            };
            tokio::time::sleep(self.poll_interval.min(left)).await;
        }
    }
}

/// Fee caps from the node: `eth_feeHistory` (alloy's EIP-1559 estimator), else `eth_gasPrice` for both caps.
pub async fn node_fees<P: Provider>(node: &P) -> Result<FeeQuote, BundlerError> {
    if let Ok(estimate) = node.estimate_eip1559_fees().await {
        return Ok(FeeQuote {
            fees: Fees {
                max_fee_per_gas: estimate.max_fee_per_gas,
                max_priority_fee_per_gas: estimate.max_priority_fee_per_gas,
            },
            source: FeeSource::NodeFeeHistory,
        });
    }
    let price = node.get_gas_price().await.map_err(|source| BundlerError::Node { method: "eth_gasPrice", source })?;
    Ok(FeeQuote {
        fees: Fees { max_fee_per_gas: price, max_priority_fee_per_gas: price },
        source: FeeSource::NodeGasPrice,
    })
}
