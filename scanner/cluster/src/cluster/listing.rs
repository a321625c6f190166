//! Paginated LISTs: a kind (and optionally a namespace) enters; pages of
//! objects leave through a bounded channel as they arrive, so memory holds
//! the pages in flight, not the cluster. A continue token that expired
//! (410 Gone: storage was compacted past the list's snapshot, every five
//! minutes by default) continues from the token the server offers in its
//! answer, at the latest state; only a server that offers none makes the
//! kind's list restart from the start, after telling the receiver to drop
//! what it already had of that kind. A page travels as its objects' JSON
//! text ([`RawPage`]) and is parsed when it is evaluated: a parsed object
//! takes several times the memory of its text, and pages wait in each
//! lister and in the queue.

use kube::api::ListParams;
use kube::Client;
use polscan_engine::ValueExt;
use rayon::prelude::*;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{send, ClusterError};
use crate::kinds::ApiResource;

/// What a lister tells the evaluator. `listing` numbers the LIST the
/// event comes from: one per kind, or per kind and namespace when a scan
/// is restricted to namespaces, so that one namespace's restart voids only
/// what that LIST gave.
#[derive(Debug)]
pub enum ListEvent {
    /// Objects of LIST number `listing`.
    Page {
        /// The LIST's number.
        listing: usize,
        /// Its next page (never empty).
        page: RawPage,
    },
    /// LIST `listing` starts over: results of its earlier pages are void.
    Restarted {
        /// The LIST's number.
        listing: usize,
    },
    /// LIST `listing` ended: the object count, or why it failed.
    Finished {
        /// The LIST's number.
        listing: usize,
        /// The objects sent since its last restart, or the error that
        /// ended it.
        outcome: Result<usize, ClusterError>,
    },
}

/// One page of a kind's objects as the server sent them: each object's
/// JSON text, with the `apiVersion` and `kind` that a LIST's items lack.
#[derive(Debug, Clone)]
pub struct RawPage {
    items: Vec<Box<RawValue>>,
    api_version: Value,
    kind: Value,
}

impl RawPage {
    /// A page of `api_kind`'s objects from their JSON texts.
    pub fn new(api_kind: &ApiResource, items: Vec<Box<RawValue>>) -> RawPage {
        RawPage {
            items,
            api_version: Value::String(api_kind.api_version()),
            kind: Value::String(api_kind.kind.clone()),
        }
    }

    /// Objects on the page.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page has no object.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The objects, parsed in parallel (rayon), in the page's order, with
    /// `apiVersion` and `kind` filled in. Errors: an object's text that
    /// does not parse as JSON (the page's did, so only a deeper nesting
    /// than serde_json's limit could).
    pub fn parse(self) -> Result<Vec<Value>, serde_json::Error> {
        let RawPage {
            items,
            api_version,
            kind,
        } = self;
        items
            .into_par_iter()
            .map(|text| {
                let mut item: Value = serde_json::from_str(text.get())?;
                if let Value::Object(object) = &mut item {
                    object.insert("apiVersion".into(), api_version.clone());
                    object.insert("kind".into(), kind.clone());
                }
                Ok(item)
            })
            .collect()
    }
}

/// A LIST's answer as it is read: the continue token and each object's
/// text.
#[derive(serde::Deserialize)]
struct ListPage {
    #[serde(default)]
    metadata: ListPageMeta,
    #[serde(default)]
    items: Option<Vec<Box<RawValue>>>,
}

#[derive(serde::Deserialize, Default)]
struct ListPageMeta {
    #[serde(default, rename = "continue")]
    continue_: Option<String>,
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
    Page(ListPage),
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
    match super::request_within::<ListPage>(client, request, super::ANSWER_TIMEOUT).await {
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
            .str_at("/metadata/continue")
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
    api_kind: ApiResource,
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
    api_kind: &ApiResource,
    listing: usize,
    namespace: Option<&str>,
    page_size: u32,
    events: &mpsc::Sender<ListEvent>,
) -> Result<usize, ClusterError> {
    let path = api_kind.collection_path(namespace);
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
            continue_token = page.metadata.continue_.filter(|token| !token.is_empty());
            let page = RawPage::new(api_kind, page.items.unwrap_or_default());
            count += page.len();
            if !page.is_empty()
                && events
                    .send(ListEvent::Page { listing, page })
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
