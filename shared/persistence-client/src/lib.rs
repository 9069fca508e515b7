//! Client for the persistence service.
//!
//! Values are stored as JSON documents under string keys. Until the
//! persistence service grows a network API, `mem://` is the only backend:
//! clones of a client share one in-process store.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use protocol::WorldSnapshot;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Errors returned by the client.
#[derive(Debug)]
pub enum Error {
    UnsupportedUrl(String),
    Encoding(serde_json::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnsupportedUrl(url) => write!(f, "unsupported persistence url: {url}"),
            Error::Encoding(err) => write!(f, "cannot encode or decode document: {err}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Encoding(err)
    }
}

/// A handle on a document store.
///
/// ```
/// let client = persistence_client::Client::connect("mem://docs").unwrap();
/// client.put("greeting", &"hello").unwrap();
/// assert_eq!(client.get::<String>("greeting").unwrap().as_deref(), Some("hello"));
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    namespace: String,
    store: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Client {
    /// Connects to `url`; only `mem://<namespace>` is supported.
    pub fn connect(url: &str) -> Result<Self, Error> {
        let namespace = url
            .strip_prefix("mem://")
            .ok_or_else(|| Error::UnsupportedUrl(url.to_owned()))?;
        Ok(Client {
            namespace: namespace.to_owned(),
            store: Arc::default(),
        })
    }

    /// Connects to the url in `PERSISTENCE_URL`, defaulting to `mem://default`.
    pub fn from_env() -> Result<Self, Error> {
        let url = std::env::var("PERSISTENCE_URL").unwrap_or_else(|_| "mem://default".into());
        Client::connect(&url)
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn key(&self, key: &str) -> String {
        format!("{}/{}", self.namespace, key)
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), Error> {
        let document = serde_json::to_string(value)?;
        self.lock().insert(self.key(key), document);
        Ok(())
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.lock().get(&self.key(key)) {
            Some(document) => Ok(Some(serde_json::from_str(document)?)),
            None => Ok(None),
        }
    }

    pub fn delete(&self, key: &str) -> bool {
        self.lock().remove(&self.key(key)).is_some()
    }

    /// Number of documents in this client's namespace.
    pub fn len(&self) -> usize {
        let prefix = self.key("");
        self.lock()
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores the latest world snapshot.
    pub fn save_snapshot(&self, snapshot: &WorldSnapshot) -> Result<(), Error> {
        self.put("world/latest", snapshot)
    }

    pub fn load_snapshot(&self) -> Result<Option<WorldSnapshot>, Error> {
        self.get("world/latest")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        // A poisoned map is still a valid map.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_documents() {
        let client = Client::connect("mem://test").unwrap();
        assert!(client.is_empty());
        client.put("answer", &42u32).unwrap();
        assert_eq!(client.get::<u32>("answer").unwrap(), Some(42));
        assert_eq!(client.get::<u32>("missing").unwrap(), None);
        assert!(client.get::<String>("answer").is_err());

        let shared = client.clone();
        shared
            .save_snapshot(&WorldSnapshot {
                tick: 9,
                entities: vec![],
            })
            .unwrap();
        assert_eq!(client.load_snapshot().unwrap().unwrap().tick, 9);
        assert_eq!(client.len(), 2);
        assert!(client.delete("answer"));
    }

    #[test]
    fn rejects_unknown_schemes() {
        let err = Client::connect("postgres://db").unwrap_err();
        assert!(err.to_string().contains("postgres://db"));
    }
}
