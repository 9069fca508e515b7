use protocol::HealthReport;

/// A token issued with `secret` must validate with it: catches a broken
/// clock or a mis-set secret at start-up.
fn self_check(secret: &str) -> bool {
    let now = auth_service::now();
    let token = auth_service::issue(secret, "probe", now + 60);
    auth_service::validate(secret, &token, now).is_ok()
}

fn main() -> std::io::Result<()> {
    let self_check = self_check(&auth_service::secret_from_env());
    health_server::serve("auth-service", move || {
        HealthReport::healthy("auth-service", env!("CARGO_PKG_VERSION"))
            .with("token_self_check", self_check)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn self_check_passes() {
        assert!(super::self_check("any-secret"));
    }
}
