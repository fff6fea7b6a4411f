//! [`serve`]: the admin API on its own listener, loopback by default.

use std::net::SocketAddr;

use cache_runtime::CacheManager;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::AdminConfig;
use crate::state::AdminState;

/// Why the admin API could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A non-loopback address without any token: the API would be open to
    /// the network with nobody allowed in but anonymous health checks —
    /// refused rather than served by mistake.
    #[error(
        "refusing to serve the admin API on {address} without a token: add one (AdminConfig::token), or bind a loopback address"
    )]
    OpenWithoutToken {
        /// The address.
        address: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// A running admin listener. Dropping it stops nothing; call
/// [`AdminServer::shutdown`].
#[derive(Debug)]
pub struct AdminServer {
    address: SocketAddr,
    state: AdminState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState").finish_non_exhaustive()
    }
}

impl AdminServer {
    /// The address it listens on (the port chosen, for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL, `http://address`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops: new requests get 503 (health `down`), requests in flight
    /// finish, open event streams end; returns when the listener is closed.
    pub async fn shutdown(mut self) {
        self.state.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Serves the admin API for `manager` on `config`'s address (loopback port
/// 9464 by default; port 0 picks a free one) from the current tokio
/// runtime.
///
/// # Errors
///
/// [`ServeError::OpenWithoutToken`] for a non-loopback address without a
/// token; [`ServeError::Bind`].
pub async fn serve(manager: CacheManager, config: AdminConfig) -> Result<AdminServer, ServeError> {
    let address = config.bind;
    if !address.ip().is_loopback() && config.tokens.is_empty() {
        return Err(ServeError::OpenWithoutToken { address });
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })?;
    let address = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { address, source })?;
    let state = AdminState::new(manager, config);
    let (router, _) = crate::api::build(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(AdminServer {
        address,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}
