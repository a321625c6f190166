//! Paginated LISTs: a kind (and optionally a namespace) enters; pages of
//! objects leave through a bounded channel as they arrive, so memory holds
//! the pages in flight, not the cluster. A continue token that expired
//! (410 Gone: storage was compacted past the list's snapshot, every five
//! minutes by default) continues from the token the server offers in its
//! answer, at the latest state; only a server that offers none makes the
//! kind's list restart from the start, after telling the receiver to drop
//! what it already had of that kind.

use kube::api::ListParams;
use kube::Client;
use serde_json::Value;
use tokio::sync::mpsc;

use super::discovery::ApiKind;
use super::{send, ClusterError};

/// What a lister tells the evaluator. `listing` numbers the LIST the
/// event comes from: one per kind, or per kind and namespace when a scan
/// is restricted to namespaces, so that one namespace's restart voids only
/// what that LIST gave.
#[derive(Debug)]
pub enum ListEvent {
    /// Objects of LIST number `listing`, with `apiVersion` and `kind`
    /// filled in.
    Page { listing: usize, items: Vec<Value> },
    /// LIST `listing` starts over: results of its earlier pages are void.
    Restarted { listing: usize },
    /// LIST `listing` ended: the object count, or why it failed.
    Finished {
        listing: usize,
        outcome: Result<usize, ClusterError>,
    },
}

/// How many times a kind's list restarts after expired continue tokens
/// before giving up.
const MAX_RESTARTS: usize = 3;

/// Fetches one page.
pub async fn list_page(
    client: &Client,
    path: &str,
    params: &ListParams,
) -> Result<Value, ClusterError> {
    send(
        client,
        format!("listing {path}"),
        kube::core::Request::new(path).list(params),
    )
    .await
}

/// One page of a LIST, or the server's 410 Gone for an expired continue
/// token with the token it offers to continue with (`metadata.continue` of
/// its Status, "an inconsistent list", apiserver storage/etcd3
/// `handleCompactedErrorForPaging`).
enum PageAnswer {
    Page(Value),
    Expired {
        resume: Option<String>,
        error: ClusterError,
    },
}

async fn list_page_or_resume(
    client: &Client,
    path: &str,
    params: &ListParams,
) -> Result<PageAnswer, ClusterError> {
    let what = format!("listing {path}");
    let request =
        kube::core::Request::new(path)
            .list(params)
            .map_err(|err| ClusterError::Transport {
                what: what.clone(),
                message: err.to_string(),
            })?;
    match client.request::<Value>(request).await {
        Ok(page) => Ok(PageAnswer::Page(page)),
        Err(kube::Error::Api(status)) if status.code == 410 => {
            let resume = status
                .metadata
                .as_ref()
                .and_then(|meta| meta.continue_.clone())
                .filter(|token| !token.is_empty());
            Ok(PageAnswer::Expired {
                resume,
                error: ClusterError::from_kube(what, kube::Error::Api(status)),
            })
        }
        Err(err) => Err(ClusterError::from_kube(what, err)),
    }
}

/// Lists every page of `path` (with `params`' page size and selectors),
/// handing each page's items to `each_page` before the next is fetched.
pub async fn for_each_page(
    client: &Client,
    path: &str,
    params: &ListParams,
    each_page: impl FnMut(Vec<Value>),
) -> Result<(), ClusterError> {
    pages(client, path, params, each_page).await
}

async fn pages(
    client: &Client,
    path: &str,
    params: &ListParams,
    mut each_page: impl FnMut(Vec<Value>),
) -> Result<(), ClusterError> {
    let mut token: Option<String> = None;
    loop {
        let mut page_params = params.clone();
        if let Some(token) = &token {
            page_params = page_params.continue_token(token);
        }
        let mut page = list_page(client, path, &page_params).await?;
        if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
            each_page(items);
        }
        token = page
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            return Ok(());
        }
    }
}

/// Lists `api_kind` (in `namespace`, or everywhere) page by page into
/// `events`, as LIST number `listing`. Returns when the list finished or
/// failed; the outcome is also sent.
pub async fn list_kind(
    client: Client,
    api_kind: ApiKind,
    listing: usize,
    namespace: Option<String>,
    page_size: u32,
    events: mpsc::Sender<ListEvent>,
) {
    let outcome = list_all_pages(
        &client,
        &api_kind,
        listing,
        namespace.as_deref(),
        page_size,
        &events,
    )
    .await;
    let _ = events.send(ListEvent::Finished { listing, outcome }).await;
}

async fn list_all_pages(
    client: &Client,
    api_kind: &ApiKind,
    listing: usize,
    namespace: Option<&str>,
    page_size: u32,
    events: &mpsc::Sender<ListEvent>,
) -> Result<usize, ClusterError> {
    let path = api_kind.collection_path(namespace);
    let api_version = Value::String(api_kind.api_version());
    let kind = Value::String(api_kind.kind.clone());
    let mut restarts = 0;
    'restart: loop {
        let mut count = 0;
        let mut continue_token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(page_size);
            if let Some(token) = &continue_token {
                params = params.continue_token(token);
            }
            let page = match list_page_or_resume(client, &path, &params).await {
                Ok(PageAnswer::Page(page)) => page,
                Ok(PageAnswer::Expired {
                    resume: Some(token),
                    ..
                }) => {
                    // A first scan lists at the pace its reports are
                    // written, so a large kind outlives compaction. The
                    // server's token continues after the last object
                    // received, at the latest state: no object is seen
                    // twice, none that existed throughout is missed, and
                    // one changed meanwhile is seen as it is now — as an
                    // audit wants. Restarting would list (and write) the
                    // whole kind again, and could expire again.
                    tracing::info!(kind = %api_kind.display_name(), "continue token expired; the list continues from the server's latest state");
                    continue_token = Some(token);
                    continue;
                }
                Ok(PageAnswer::Expired { error, .. }) if restarts < MAX_RESTARTS => {
                    tracing::debug!(error = %error, "no token to continue with");
                    restarts += 1;
                    tracing::warn!(kind = %api_kind.display_name(), "continue token expired; listing again from the start");
                    if events.send(ListEvent::Restarted { listing }).await.is_err() {
                        return Err(receiver_gone(&path));
                    }
                    continue 'restart;
                }
                Ok(PageAnswer::Expired { error, .. }) | Err(error) => return Err(error),
            };
            let Value::Object(mut page) = page else {
                return Err(ClusterError::Transport {
                    what: format!("listing {path}"),
                    message: "the answer is not an object".into(),
                });
            };
            continue_token = page
                .get("metadata")
                .and_then(|m| m.get("continue"))
                .and_then(Value::as_str)
                .filter(|token| !token.is_empty())
                .map(str::to_string);
            let items = match page.remove("items") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let items: Vec<Value> = items
                .into_iter()
                .map(|mut item| {
                    if let Value::Object(object) = &mut item {
                        object.insert("apiVersion".into(), api_version.clone());
                        object.insert("kind".into(), kind.clone());
                    }
                    item
                })
                .collect();
            count += items.len();
            if !items.is_empty()
                && events
                    .send(ListEvent::Page { listing, items })
                    .await
                    .is_err()
            {
                return Err(receiver_gone(&path));
            }
            if continue_token.is_none() {
                return Ok(count);
            }
        }
    }
}

fn receiver_gone(path: &str) -> ClusterError {
    ClusterError::Transport {
        what: format!("listing {path}"),
        message: "the evaluation stopped".into(),
    }
}
