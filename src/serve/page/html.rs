//! The page's HTML, pure: escaping (everything a node or a sender named is input from outside),
//! the layout (inline CSS, readable on a phone, and a small script that refreshes the page's
//! `main` in place every 30 s), and the fleet overview's tables.

use std::sync::LazyLock;

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => safe.push_str("&amp;"),
            '<' => safe.push_str("&lt;"),
            '>' => safe.push_str("&gt;"),
            '"' => safe.push_str("&quot;"),
            '\'' => safe.push_str("&#39;"),
            // HTML forbids NUL; browsers show U+FFFD for it, so the page says so itself.
            '\0' => safe.push('\u{FFFD}'),
            c => safe.push(c),
        }
    }
    safe
}

/// Text made safe as one URL path segment or query value: everything but unreserved characters
/// percent-encoded.
pub fn url_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f23;background:#f6f8fa}\
header{background:#24292f;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\
header h1{font-size:1.1rem;margin:0;flex:1}header form{margin:0}\
main{padding:1rem}.scroll{overflow-x:auto}h2{font-size:1rem;margin:1.2rem 0 .4rem}\
table{border-collapse:collapse;background:#fff;font-size:.9rem;min-width:100%}\
th,td{padding:.35rem .6rem;border-bottom:1px solid #d0d7de;text-align:left;white-space:nowrap}\
th{background:#eaeef2;cursor:pointer}tr.problem td{background:#fff5f5}\
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.muted{color:#57606a}\
input,button{font-size:1rem;padding:.3rem .5rem}a{color:#0969da}nav{margin:.8rem 0}nav a{margin-left:.8rem}\
nav a.on{font-weight:700;color:#1b1f23;text-decoration:none}\
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:.6rem}\
figure.chart{background:#fff;border:1px solid #d0d7de;margin:0;padding:.4rem .6rem}\
figcaption{font-size:.9rem;font-weight:600}figcaption span{font-weight:400;margin-left:.5rem}\
svg{width:100%;height:auto}svg text{font-size:14px;fill:#57606a}.grid{stroke:#d0d7de}\
svg.swatch{width:.7em;height:.7em;margin-right:.25em}";

/// Refreshes `main` from the same URL every 30 s without reloading the page, and a quarter of a
/// second after the server says the page's data changed (when `main` names a `data-live` event
/// source: `live_marker`); sorts a table by the column header clicked.
const SCRIPT: &str = "const refresh=async()=>{try{const r=await fetch(location.href,{credentials:'same-origin'});\
if(!r.ok)return;const d=new DOMParser().parseFromString(await r.text(),'text/html');\
const m=d.querySelector('main');if(m)document.querySelector('main').replaceWith(m);}catch(e){}};\
setInterval(refresh,30000);const live=document.querySelector('[data-live]');\
if(live&&window.EventSource){let due=0;window.nodepulseLive=new EventSource(live.dataset.live);\
nodepulseLive.addEventListener('changed',()=>{if(!due)due=setTimeout(()=>{due=0;refresh();},250);});}\
document.addEventListener('click',e=>{const th=e.target.closest('th');if(!th)return;\
const t=th.closest('table'),i=[...th.parentNode.children].indexOf(th),b=t.tBodies[0];\
const rows=[...b.rows],up=th.dataset.up!=='1';th.dataset.up=up?'1':'0';\
rows.sort((x,y)=>{const a=x.cells[i].dataset.v??x.cells[i].textContent,c=y.cells[i].dataset.v??y.cells[i].textContent;\
const n=parseFloat(a)-parseFloat(c);return (isNaN(n)?a.localeCompare(c):n)*(up?1:-1)});rows.forEach(r=>b.appendChild(r));});";

/// The page's Content-Security-Policy: its one inline style and one inline script, by their
/// hashes, and nothing else (no other script, style, frame, plugin or form target; the script
/// fetches only this server). With `frame-ancestors 'none'` no other site may frame it.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        hash_source(SCRIPT),
        hash_source(STYLE)
    )
});

/// A CSP hash source: `sha256-` and the base64 of the text's SHA-256.
fn hash_source(text: &str) -> String {
    use base64::Engine;
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// "Page 2 of 7" with links to the pages before and after: `href` and a page's number (from 0).
pub fn page_links(page: usize, pages: usize, href: &str) -> String {
    if pages < 2 {
        return String::new();
    }
    let mut html = format!("<p class=\"pages\">Page {} of {pages}", page + 1);
    let href = escape(href);
    if page > 0 {
        html.push_str(&format!(" <a href=\"{href}{}\">previous</a>", page - 1));
    }
    if page + 1 < pages {
        html.push_str(&format!(" <a href=\"{href}{}\">next</a>", page + 1));
    }
    html.push_str("</p>");
    html
}

/// A whole page: `title` (escaped here), the header's sign-in or sign-out form, and `main`.
pub fn page(title: &str, signed_in: bool, main: &str) -> String {
    let session = if signed_in {
        "<form method=\"post\" action=\"/logout\"><button>Sign out</button></form>"
    } else {
        "<form method=\"post\" action=\"/login\"><input type=\"password\" name=\"key\" \
         placeholder=\"API key\" aria-label=\"API key\" autocomplete=\"current-password\"> \
         <button>Sign in</button></form>"
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><header><h1>{title}</h1>{session}\
         </header><main>{main}</main><script>{SCRIPT}</script></body></html>",
        title = escape(title),
    )
}

/// What a page's `main` carries for the script to follow `events` (a path of `/events`).
pub fn live_marker(events: &str) -> String {
    format!("<span hidden data-live=\"{}\"></span>", escape(events))
}

/// One table cell: its text (escaped here) and, for sorting, a value.
pub struct Cell {
    pub text: String,
    pub sort: Option<f64>,
    pub class: Option<&'static str>,
    /// Where the text links to (a path on this server).
    pub link: Option<String>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            sort: None,
            class: None,
            link: None,
        }
    }

    pub fn number(value: Option<f64>, shown: impl Fn(f64) -> String) -> Cell {
        match value {
            Some(value) => Cell {
                text: shown(value),
                sort: Some(value),
                class: None,
                link: None,
            },
            None => Cell::text("—"),
        }
    }

    pub fn class(mut self, class: &'static str) -> Cell {
        self.class = Some(class);
        self
    }

    pub fn link(mut self, href: String) -> Cell {
        self.link = Some(href);
        self
    }
}

/// A row, marked when it has a problem (those sort first).
pub struct Row {
    pub problem: bool,
    pub cells: Vec<Cell>,
}

/// A sortable table; `empty` is said when there are no rows.
pub fn table(id: &str, headers: &[&str], rows: &[Row], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"muted\" id=\"{id}\">{}</p>", escape(empty));
    }
    let mut html = format!("<div class=\"scroll\"><table id=\"{id}\"><thead><tr>");
    for header in headers {
        html.push_str(&format!("<th>{}</th>", escape(header)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str(if row.problem {
            "<tr class=\"problem\">"
        } else {
            "<tr>"
        });
        for cell in &row.cells {
            html.push_str("<td");
            if let Some(value) = cell.sort {
                html.push_str(&format!(" data-v=\"{value}\""));
            }
            if let Some(class) = cell.class {
                html.push_str(&format!(" class=\"{class}\""));
            }
            match &cell.link {
                Some(href) => html.push_str(&format!(
                    "><a href=\"{}\">{}</a></td>",
                    escape(href),
                    escape(&cell.text)
                )),
                None => html.push_str(&format!(">{}</td>", escape(&cell.text))),
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_nodes_send_is_text() {
        assert_eq!(
            escape("<script>alert(1)</script> & \"x\" 'y'"),
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &#39;y&#39;"
        );
        let rows = [Row {
            problem: true,
            cells: vec![
                Cell::text("<b>rig</b>").link(format!("/machines/{}", url_component("<b>rig</b>"))),
                Cell::number(Some(3.5), |v| format!("{v} %")),
            ],
        }];
        let html = table("t", &["Name", "Disk"], &rows, "none");
        assert!(
            html.contains(
                "<td><a href=\"/machines/%3Cb%3Erig%3C%2Fb%3E\">&lt;b&gt;rig&lt;/b&gt;</a></td>"
            ),
            "{html}"
        );
        assert_eq!(url_component("rig 1/é?&"), "rig%201%2F%C3%A9%3F%26");
        assert!(html.contains("<td data-v=\"3.5\">3.5 %</td>"), "{html}");
        assert!(html.contains("<tr class=\"problem\">"));
        assert_eq!(
            table("t", &["Name"], &[], "No <nodes>"),
            "<p class=\"muted\" id=\"t\">No &lt;nodes&gt;</p>"
        );
        assert!(page("a <b>", false, "").contains("<title>a &lt;b&gt;</title>"));
    }
}
