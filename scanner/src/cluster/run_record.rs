//! Writing the last run's record (a ConfigMap built by
//! `scan::last_run`) by server-side apply, as polscan's field manager.

use kube::api::{Patch, PatchParams};
use kube::Client;
use serde_json::Value;

use super::report_store::FIELD_MANAGER;
use super::{send, ClusterError};

pub async fn write(
    client: &Client,
    namespace: &str,
    name: &str,
    config_map: &Value,
) -> Result<(), ClusterError> {
    send::<Value>(
        client,
        format!("writing ConfigMap {namespace}/{name}"),
        kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/configmaps")).patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(config_map),
        ),
    )
    .await
    .map(|_| ())
}
