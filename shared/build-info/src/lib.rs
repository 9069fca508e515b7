//! Helper for build scripts: exports `BUILD_VERSION` to the crate being
//! built, as `<package version>+<short git sha>` when `GIT_SHA` is set.

/// Formats the version string from a package version and an optional sha.
///
/// ```
/// assert_eq!(build_info::version_string("0.1.0", Some("abc123")), "0.1.0+abc123");
/// ```
pub fn version_string(package_version: &str, git_sha: Option<&str>) -> String {
    match git_sha.map(str::trim).filter(|sha| !sha.is_empty()) {
        Some(sha) => {
            let short: String = sha.chars().take(12).collect();
            format!("{package_version}+{short}")
        }
        None => package_version.to_owned(),
    }
}

/// Call from `build.rs`: emits `cargo:rustc-env=BUILD_VERSION=...`.
pub fn emit() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_else(|_| "0.0.0".into());
    let sha = std::env::var("GIT_SHA").ok();
    println!("cargo:rerun-if-env-changed=GIT_SHA");
    println!(
        "cargo:rustc-env=BUILD_VERSION={}",
        version_string(&version, sha.as_deref())
    );
}

#[cfg(test)]
mod tests {
    use super::version_string;

    #[test]
    fn appends_short_sha() {
        assert_eq!(version_string("1.2.3", None), "1.2.3");
        assert_eq!(version_string("1.2.3", Some("  ")), "1.2.3");
        assert_eq!(
            version_string("1.2.3", Some("0123456789abcdef0123")),
            "1.2.3+0123456789ab"
        );
    }
}
