use persistence_client::Client;
use protocol::HealthReport;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AssetManifest {
    name: String,
    kind: String,
    bytes: u64,
}

/// Registers the built-in assets and returns how many there are.
fn register_builtins(store: &Client) -> Result<usize, persistence_client::Error> {
    let builtins = [("crate", "mesh", 48_213), ("grass", "texture", 262_144)];
    for (name, kind, bytes) in builtins {
        let manifest = AssetManifest {
            name: name.into(),
            kind: kind.into(),
            bytes,
        };
        store.put(&format!("assets/{name}"), &manifest)?;
    }
    Ok(builtins.len())
}

fn main() -> std::io::Result<()> {
    let store = Client::from_env().map_err(std::io::Error::other)?;
    let assets = register_builtins(&store).map_err(std::io::Error::other)?;
    health_server::serve("asset-service", move || {
        HealthReport::healthy("asset-service", env!("CARGO_PKG_VERSION")).with("assets", assets)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_stored() {
        let store = Client::connect("mem://assets-test").unwrap();
        assert_eq!(register_builtins(&store).unwrap(), 2);
        let grass: AssetManifest = store.get("assets/grass").unwrap().unwrap();
        assert_eq!(grass.kind, "texture");
    }
}
