//! Fetching a target's exposition: an `http(s)://` URL or a file holding a scrape.
//!
//! Every fetch is bounded: one timeout over the whole exchange (connect, headers and body, so a
//! target trickling one byte a second cannot hold a cycle), and a cap on the body *after* gzip
//! decoding (so a small compressed bomb cannot fill memory).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::io::Read;

use crate::exposition::Syntax;
use crate::secret::without_credentials;

/// Prefer the classic text format; OpenMetrics text is read as well, anything else (protobuf) is
/// not.
const ACCEPT_TEXT: &str =
    "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";

/// A fetched body and the text format it is in.
#[derive(Debug)]
pub struct Scraped {
    pub body: Vec<u8>,
    pub syntax: Syntax,
}

impl From<Vec<u8>> for Scraped {
    /// A body with no Content-Type: its syntax told by the body alone.
    fn from(body: Vec<u8>) -> Self {
        let syntax = Syntax::detect(None, &body);
        Scraped { body, syntax }
    }
}

/// Where a scrape comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    Url(Url),
    File(PathBuf),
}

impl Target {
    /// `http://` and `https://` are URLs; anything else with a `scheme://` is refused; the rest is a
    /// file path.
    pub fn parse(text: &str) -> Result<Target, String> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Url::parse(text)
                .map(Target::Url)
                .map_err(|err| format!("`{text}` is not a valid URL: {err}"));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "`{scheme}://` targets are not supported: use http://, https:// or a file path"
            ));
        }
        if text.is_empty() {
            return Err("the target is empty".into());
        }
        Ok(Target::File(PathBuf::from(text)))
    }
}

/// Shown in logs: a URL without its credentials, a file by its path.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Url(url) => f.write_str(&without_credentials(url)),
            Target::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("no complete answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("answered HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error("request failed: {0}")]
    Http(String),
    #[error("body is larger than the {limit}-byte cap (--max-scrape-size)")]
    TooLarge { limit: u64 },
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Fetches targets with one shared HTTP client.
#[derive(Debug, Clone)]
pub struct Scraper {
    client: reqwest::Client,
    timeout: Duration,
    max_body_bytes: u64,
}

impl Scraper {
    pub fn new(timeout: Duration, max_body_bytes: u64) -> Result<Self, crate::Error> {
        Ok(Scraper {
            client: crate::http_client(timeout)?,
            timeout,
            max_body_bytes,
        })
    }

    /// The target's body, within the timeout and the size cap.
    pub async fn fetch(&self, target: &Target) -> Result<Scraped, ScrapeError> {
        let fetch = async {
            match target {
                Target::Url(url) => self.fetch_url(url).await,
                Target::File(path) => self.read_file(path).await,
            }
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .map_err(|_| ScrapeError::Timeout(self.timeout))?
    }

    async fn fetch_url(&self, url: &Url) -> Result<Scraped, ScrapeError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, ACCEPT_TEXT)
            .send()
            .await
            .map_err(|err| self.http_error(err))?;
        if !response.status().is_success() {
            return Err(ScrapeError::Status(response.status()));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| self.http_error(err))? {
            if (body.len() + chunk.len()) as u64 > self.max_body_bytes {
                return Err(ScrapeError::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        let syntax = Syntax::detect(content_type.as_deref(), &body);
        Ok(Scraped { body, syntax })
    }

    async fn read_file(&self, path: &Path) -> Result<Scraped, ScrapeError> {
        let limit = self.max_body_bytes;
        let owned = path.to_path_buf();
        // One blocking read, not tokio's file reads in 16 KiB hops between threads.
        let read = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&owned)?;
            // Sized once from the file's length: no regrowth and copying on a large scrape.
            let size = file.metadata().map_or(0, |meta| meta.len()).min(limit + 1);
            let mut body = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            // One byte past the cap tells "exactly at the cap" from "over it".
            file.take(limit + 1).read_to_end(&mut body)?;
            Ok::<_, std::io::Error>(body)
        })
        .await
        .unwrap_or_else(|join_error| Err(std::io::Error::other(join_error)));
        let body = read.map_err(|source| ScrapeError::File {
            path: path.to_path_buf(),
            source,
        })?;
        if body.len() as u64 > limit {
            return Err(ScrapeError::TooLarge { limit });
        }
        Ok(Scraped::from(body))
    }

    fn http_error(&self, err: reqwest::Error) -> ScrapeError {
        if err.is_timeout() {
            ScrapeError::Timeout(self.timeout)
        } else {
            ScrapeError::Http(describe(err))
        }
    }
}

/// A reqwest error with its causes, and without the URL it carries (which may hold a secret).
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_kinds() {
        assert!(matches!(
            Target::parse("http://127.0.0.1:5054/metrics"),
            Ok(Target::Url(_))
        ));
        assert!(matches!(
            Target::parse("HTTPS://node:8080/metrics"),
            Ok(Target::Url(_))
        ));
        assert_eq!(
            Target::parse("fixtures/prysm/beacon.prom"),
            Ok(Target::File(PathBuf::from("fixtures/prysm/beacon.prom")))
        );
        let err = Target::parse("ftp://node/metrics").expect_err("ftp refused");
        assert!(err.contains("ftp://"), "{err}");
        assert!(Target::parse("http://").is_err());
        assert!(Target::parse("").is_err());
    }

    #[test]
    fn target_display_hides_credentials() {
        let target = Target::parse("http://admin:hunter2@node:8080/metrics").expect("valid");
        assert_eq!(target.to_string(), "http://node:8080/metrics");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn file_over_the_cap_is_refused() {
        let dir = std::env::temp_dir().join(format!("nodepulse-scrape-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("big.prom");
        std::fs::write(&path, "up 1\n".repeat(100)).expect("write");
        let scraper = Scraper::new(Duration::from_secs(5), 499).expect("client");
        let err = scraper
            .fetch(&Target::File(path.clone()))
            .await
            .expect_err("over the cap");
        assert!(matches!(err, ScrapeError::TooLarge { limit: 499 }), "{err}");
        let scraper = Scraper::new(Duration::from_secs(5), 500).expect("client");
        let scraped = scraper
            .fetch(&Target::File(path))
            .await
            .expect("at the cap");
        assert_eq!(scraped.body.len(), 500);
        let _ = std::fs::remove_dir_all(dir);
    }
}
