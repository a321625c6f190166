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
    Client::try_from(config).map_err(|err| ClusterError::Config(err.to_string()))
}
