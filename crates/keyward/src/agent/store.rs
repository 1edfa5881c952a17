//! Where an agent keeps its [`AgentState`] between runs: a [`Store`]. The embedded default is one JSON file
//! ([`FileStore`], written atomically); [`MemoryStore`] is for tests; a service implements the trait over its own
//! database.

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::Mutex,
};

use crate::Error;

use super::AgentState;

/// An agent's state store. `load` of a store never saved to is a fresh [`AgentState::default`].
pub trait Store: Send + Sync {
    /// The saved state, or a fresh one.
    fn load(&self) -> impl Future<Output = Result<AgentState, Error>> + Send;

    /// Saves `state` (all or nothing: a crash leaves the previous state or this one).
    fn save(&self, state: &AgentState) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The embedded store: one JSON file, replaced atomically (a temporary file beside it, then a rename).
#[derive(Clone, Debug)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store at `path` (created on the first save).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self { path: path.as_ref().to_owned() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<AgentState, Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| store_error(&self.path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AgentState::default()),
            Err(e) => Err(store_error(&self.path, e)),
        }
    }

    fn write(&self, state: &AgentState) -> Result<(), Error> {
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_string_pretty(state).map_err(|e| store_error(&self.path, e))?;
        std::fs::write(&tmp, text).map_err(|e| store_error(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| store_error(&self.path, e))
    }
}

/// A store error at `path`, with its source.
fn store_error(path: &Path, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Store { location: path.display().to_string(), source: Box::new(source) }
}

impl Store for FileStore {
    async fn load(&self) -> Result<AgentState, Error> {
        self.read()
    }

    async fn save(&self, state: &AgentState) -> Result<(), Error> {
        self.write(state)
    }
}

/// A store in memory (tests, or a process that does not need to survive a restart).
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<AgentState>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    async fn load(&self) -> Result<AgentState, Error> {
        Ok(self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    async fn save(&self, state: &AgentState) -> Result<(), Error> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = state.clone();
        Ok(())
    }
}

/// A shared store is a store.
impl<S: Store> Store for std::sync::Arc<S> {
    fn load(&self) -> impl Future<Output = Result<AgentState, Error>> + Send {
        (**self).load()
    }

    fn save(&self, state: &AgentState) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).save(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("keyward-agent-unit-{}-{name}.json", std::process::id()))
    }

    #[tokio::test]
    async fn test_file_store_round_trips_and_starts_empty() {
        let store = FileStore::new(temp("rt"));
        let _ = std::fs::remove_file(store.path());
        assert_eq!(store.load().await.expect("fresh"), AgentState::default());
        let state = AgentState { runs: 3, last_run: Some(9), refusals: 2, failures: 1, ..AgentState::default() };
        store.save(&state).await.expect("save");
        assert_eq!(store.load().await.expect("load"), state);
        std::fs::remove_file(store.path()).expect("cleanup");
    }

    #[tokio::test]
    async fn test_file_store_reads_files_of_earlier_versions() {
        let path = temp("old");
        std::fs::write(&path, r#"{"runs":4,"last_run":60,"last_tx":null,"failures":1,"stopped":null}"#).expect("write");
        let state = FileStore::new(&path).load().await.expect("old file loads");
        assert_eq!((state.runs, state.failures, state.refusals, state.next_due), (4, 1, 0, None));
        std::fs::remove_file(&path).expect("cleanup");
    }

    #[tokio::test]
    async fn test_file_store_corrupt_file_is_a_typed_error_with_its_source() {
        let path = temp("bad");
        std::fs::write(&path, "{not json").expect("write");
        let e = FileStore::new(&path).load().await.expect_err("corrupt");
        assert!(matches!(&e, Error::Store { location, .. } if location.ends_with("bad.json")), "{e}");
        assert!(std::error::Error::source(&e).is_some_and(<dyn std::error::Error>::is::<serde_json::Error>));
        std::fs::remove_file(&path).expect("cleanup");
    }

    #[tokio::test]
    async fn test_memory_store_round_trips() {
        let store = std::sync::Arc::new(MemoryStore::new());
        assert_eq!(store.load().await.expect("fresh"), AgentState::default());
        let state = AgentState { runs: 1, ..AgentState::default() };
        store.save(&state).await.expect("save");
        assert_eq!(store.load().await.expect("load"), state);
    }
}
