//! Writing the last run's record (a ConfigMap built by
//! `scan::last_run`) by server-side apply, as polscan's field manager.

use kube::api::{Patch, PatchParams};
use kube::Client;
use serde_json::Value;

use super::report_store::FIELD_MANAGER;
use super::{send, ClusterError};

/// Writes the record: a server-side apply as polscan's field manager.
pub async fn write(
    client: &Client,
    namespace: &str,
    name: &str,
    config_map: &Value,
) -> Result<(), ClusterError> {
    apply(
        client,
        format!("writing ConfigMap {namespace}/{name}"),
        namespace,
        name,
        config_map,
        PatchParams::apply(FIELD_MANAGER).force(),
    )
    .await
}

/// Checks, before a scan, that the record could be written: a server-side
/// dry run (`dryRun=All`) of the same apply, with only the ConfigMap's
/// name. It fails as [`write`] would after the scan (a missing namespace,
/// no right to create or patch ConfigMaps there), and persists nothing.
pub async fn check_writable(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<(), ClusterError> {
    let config_map = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
    });
    apply(
        client,
        format!("checking that ConfigMap {namespace}/{name} can be written (a dry run)"),
        namespace,
        name,
        &config_map,
        PatchParams::apply(FIELD_MANAGER).force().dry_run(),
    )
    .await
}

async fn apply(
    client: &Client,
    what: String,
    namespace: &str,
    name: &str,
    config_map: &Value,
    params: PatchParams,
) -> Result<(), ClusterError> {
    send::<Value>(
        client,
        what,
        kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/configmaps")).patch(
            name,
            &params,
            &Patch::Apply(config_map),
        ),
    )
    .await
    .map(|_| ())
}
