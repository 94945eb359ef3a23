//! Secrets as types: they hold the real value privately and show only a redacted form, so an API key
//! cannot reach a log line, an error message or `--dry-run` output by accident.

use std::fmt;

use reqwest::Url;

/// A secret string, such as the beaconcha.in API key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The real value, for the one place that needs it (building the request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A URL as it may be shown: without the user name and password it may carry.
pub fn without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    // Clearing them fails only for URLs that cannot have them, which have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A URL whose path, query and credentials may hold a secret (beaconcha.in puts the API key in the
/// path). It shows only scheme, host and port.
#[derive(Clone, PartialEq, Eq)]
pub struct SensitiveUrl(Url);

impl SensitiveUrl {
    pub fn new(url: Url) -> Self {
        SensitiveUrl(url)
    }

    pub fn expose(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for SensitiveUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        write!(f, "{}://{}", url.scheme(), url.host_str().unwrap_or(""))?;
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        f.write_str("/<redacted>")
    }
}

impl fmt::Debug for SensitiveUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SensitiveUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c2VjcmV0LWFwaS1rZXk";

    #[test]
    fn secret_never_shows() {
        let secret = Secret::new(KEY.into());
        assert!(!format!("{secret}").contains(KEY));
        assert!(!format!("{secret:?}").contains(KEY));
        assert_eq!(secret.expose(), KEY);
    }

    #[test]
    fn sensitive_url_shows_only_the_host() {
        let url = Url::parse(&format!(
            "https://user:pw@beaconcha.in:8443/api/v1/stats/{KEY}/rig?apikey={KEY}"
        ))
        .expect("valid url");
        let url = SensitiveUrl::new(url);
        for shown in [format!("{url}"), format!("{url:?}")] {
            assert!(!shown.contains(KEY), "{shown}");
            assert!(!shown.contains("pw"), "{shown}");
            assert!(shown.contains("beaconcha.in:8443"), "{shown}");
        }
    }
}
