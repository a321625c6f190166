//! Connecting: a kubeconfig file and context, `KUBECONFIG`/`~/.kube/config`,
//! or the in-cluster service account enter; a `kube::Client` leaves.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::ClusterError;

/// Builds a client: an explicit kubeconfig path wins, then the usual
/// inference (`KUBECONFIG`, `~/.kube/config`, in-cluster).
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Client, ClusterError> {
    connect_with_server(kubeconfig, context)
        .await
        .map(|(client, _)| client)
}

/// [`connect`], also returning the server URL, for messages that must say
/// which cluster could not be reached.
pub async fn connect_with_server(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<(Client, String), ClusterError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|err| ClusterError::Config(format!("{}: {err}", path.display())))?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|err| ClusterError::Config(format!("{}: {err}", path.display())))?
        }
        None if context.is_some() => Config::from_kubeconfig(&options)
            .await
            .map_err(|err| ClusterError::Config(err.to_string()))?,
        None => Config::infer()
            .await
            .map_err(|err| ClusterError::Config(err.to_string()))?,
    };
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|err| ClusterError::Config(err.to_string()))?;
    Ok((client, server))
}
