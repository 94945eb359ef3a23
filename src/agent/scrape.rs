//! Scraping a target: an `http(s)://` URL or a file holding a scrape, parsed as it arrives.
//!
//! Every scrape is bounded: one timeout over the whole exchange (connect, headers and body, so a
//! target trickling one byte a second cannot hold a cycle), and a cap on the body *after* gzip
//! decoding (so a small compressed bomb cannot fill memory). The body is never held whole: each
//! chunk goes to the parser, which keeps only the series wanted.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use crate::secret::without_credentials;
use crate::wire::exposition::{Exposition, NameFilter, ParseError, Parser, Syntax};

/// Prefer the classic text format; OpenMetrics text is read as well, anything else (protobuf) is
/// not.
const ACCEPT_TEXT: &str =
    "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";

/// How much of a file is read at a time.
const FILE_CHUNK_BYTES: usize = 256 << 10;

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
    #[error(transparent)]
    Parse(#[from] ParseError),
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

    /// The target's exposition (only the series `wanted` names, or all), within the timeout and
    /// the size cap.
    pub async fn scrape(
        &self,
        target: &Target,
        wanted: Option<&NameFilter>,
    ) -> Result<Exposition, ScrapeError> {
        let scrape = async {
            match target {
                Target::Url(url) => self.scrape_url(url, wanted).await,
                Target::File(path) => self.scrape_file(path, wanted).await,
            }
        };
        tokio::time::timeout(self.timeout, scrape)
            .await
            .map_err(|_| ScrapeError::Timeout(self.timeout))?
    }

    async fn scrape_url(
        &self,
        url: &Url,
        wanted: Option<&NameFilter>,
    ) -> Result<Exposition, ScrapeError> {
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
            .and_then(|value| value.to_str().ok());
        let mut parser = Parser::new(Syntax::from_content_type(content_type), wanted);
        let mut size = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|err| self.http_error(err))? {
            size += chunk.len() as u64;
            if size > self.max_body_bytes {
                return Err(ScrapeError::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
            parser.feed(&chunk);
        }
        Ok(parser.finish()?)
    }

    /// Reads and parses on a blocking thread, in chunks: tokio's file reads would hop between
    /// threads every 16 KiB, and a read that blocks (a stalled network mount) must not hold the
    /// runtime past the timeout.
    async fn scrape_file(
        &self,
        path: &Path,
        wanted: Option<&NameFilter>,
    ) -> Result<Exposition, ScrapeError> {
        let limit = self.max_body_bytes;
        let owned_path = path.to_path_buf();
        let owned_filter = wanted.cloned();
        tokio::task::spawn_blocking(move || parse_file(&owned_path, limit, owned_filter.as_ref()))
            .await
            .unwrap_or_else(|join_error| {
                Err(ScrapeError::File {
                    path: path.to_path_buf(),
                    source: std::io::Error::other(join_error),
                })
            })
    }

    fn http_error(&self, err: reqwest::Error) -> ScrapeError {
        if err.is_timeout() {
            ScrapeError::Timeout(self.timeout)
        } else {
            ScrapeError::Http(describe(err))
        }
    }
}

fn parse_file(
    path: &Path,
    limit: u64,
    wanted: Option<&NameFilter>,
) -> Result<Exposition, ScrapeError> {
    let file_error = |source| ScrapeError::File {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(file_error)?;
    let mut parser = Parser::new(file_syntax(&mut file).map_err(file_error)?, wanted);
    let mut buffer = vec![0; FILE_CHUNK_BYTES];
    let mut size = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(file_error(err)),
        };
        size += read as u64;
        if size > limit {
            return Err(ScrapeError::TooLarge { limit });
        }
        parser.feed(&buffer[..read]);
    }
    Ok(parser.finish()?)
}

/// A file's syntax, from its last bytes (an OpenMetrics file ends with `# EOF`), the file left at
/// its start; what cannot seek (a pipe) is read as the classic format.
fn file_syntax(file: &mut File) -> std::io::Result<Syntax> {
    const TAIL_BYTES: u64 = 64;
    // A file shorter than the tail cannot seek before its start: read it from the start then.
    if file.seek(SeekFrom::End(-(TAIL_BYTES as i64))).is_err()
        && file.seek(SeekFrom::Start(0)).is_err()
    {
        return Ok(Syntax::Classic);
    }
    let mut tail = Vec::new();
    file.by_ref().take(TAIL_BYTES).read_to_end(&mut tail)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Syntax::from_tail(&tail))
}

/// A node API's whole answer, refused past `limit` bytes: a broken or hostile node cannot make us
/// hold more.
pub async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > limit {
            return Err(format!("answer larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
            .scrape(&Target::File(path.clone()), None)
            .await
            .expect_err("over the cap");
        assert!(matches!(err, ScrapeError::TooLarge { limit: 499 }), "{err}");
        let scraper = Scraper::new(Duration::from_secs(5), 500).expect("client");
        let exposition = scraper
            .scrape(&Target::File(path), None)
            .await
            .expect("at the cap");
        assert_eq!(exposition.samples("up").count(), 100);
        let _ = std::fs::remove_dir_all(dir);
    }
}
