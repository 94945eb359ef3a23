//! `GET /events?chain=KEY`: server-sent events for an open page, one `changed` event (its data
//! the chain's key) each time a committed write changes a chain, only that chain's when `chain`
//! is given. The page then draws itself again (`html`'s script). For the readers of the stream
//! pages; each open page holds one of `MAX_OPEN_PAGES` places, and the stream ends when the
//! server stops.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

use crate::serve::auth::Viewer;
use crate::serve::state::AppState;
use crate::serve::store::Database;
use crate::serve::streams::live::MAX_OPEN_PAGES;

pub async fn events<S: Database>(
    State(shared): State<Arc<AppState<S>>>,
    Query(query): Query<HashMap<String, String>>,
    Viewer(record): Viewer,
) -> Response {
    if record.is_none() && !shared.public_reads {
        return (StatusCode::UNAUTHORIZED, "sign in to follow the pages").into_response();
    }
    let Some(subscription) = shared.streams.live.subscribe() else {
        let busy = format!("{MAX_OPEN_PAGES} pages are open on this server: try again later");
        return (StatusCode::SERVICE_UNAVAILABLE, busy).into_response();
    };
    let wanted = query.get("chain").cloned();
    let stopping = shared.streams.stopping();
    let news = futures_util::stream::unfold(
        (subscription, wanted, stopping),
        |(mut subscription, wanted, mut stopping)| async move {
            loop {
                let next = tokio::select! {
                    _ = stopping.changed() => return None,
                    next = subscription.news.recv() => next,
                };
                let chain = match next {
                    Ok(chain) if wanted.as_deref().is_none_or(|wanted| *wanted == *chain) => {
                        chain.to_string()
                    }
                    Ok(_) => continue,
                    // Fell behind: something changed, which is all a page needs to know.
                    Err(RecvError::Lagged(_)) => String::new(),
                    Err(RecvError::Closed) => return None,
                };
                let event = Event::default().event("changed").data(chain);
                return Some((Ok::<_, Infallible>(event), (subscription, wanted, stopping)));
            }
        },
    );
    Sse::new(news)
        .keep_alive(KeepAlive::default())
        .into_response()
}
