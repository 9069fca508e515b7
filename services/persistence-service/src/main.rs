use persistence_client::{Client, Error};
use protocol::HealthReport;

/// Writes a start-up marker, proving the store accepts writes.
fn open_store(url: &str) -> Result<Client, Error> {
    let store = Client::connect(url)?;
    store.put("meta/started-at", &std::time::SystemTime::now())?;
    Ok(store)
}

fn main() -> std::io::Result<()> {
    let url = std::env::var("PERSISTENCE_URL").unwrap_or_else(|_| "mem://default".into());
    let store = open_store(&url).map_err(std::io::Error::other)?;

    health_server::serve("persistence-service", move || {
        HealthReport::healthy("persistence-service", env!("CARGO_PKG_VERSION"))
            .with("namespace", store.namespace())
            .with("documents", store.len())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn store_opens_with_a_marker() {
        let store = super::open_store("mem://svc-test").unwrap();
        assert_eq!(store.len(), 1);
        assert!(super::open_store("file:///tmp/x").is_err());
    }
}
