//! Which discovered kinds a scan lists, and which namespaces it covers,
//! decided without I/O. Discovered kinds, the user's filters and the kinds
//! the policies can match enter; the kinds to list and, for every other
//! kind, why it is not listed leave. Events, the report kinds themselves
//! and core Secrets are never scanned unless asked for by name.

use super::shard::Shard;
use crate::engine::target_kinds::TargetKinds;
use crate::kinds::ApiResource;
use crate::reconcile::ExistingReport;

/// Kinds left out unless `--include-kinds` names them: high-churn records
/// and reports, which policies are not written for, and core Secrets,
/// whose reports far more people can read than the Secrets (a named
/// `--include-kinds Secret` scans them, their values redacted:
/// `polscan_engine::redaction`).
pub const DEFAULT_EXCLUDED_KINDS: [&str; 13] = [
    "Secret",
    "Event",
    "events.k8s.io/Event",
    "wgpolicyk8s.io/PolicyReport",
    "wgpolicyk8s.io/ClusterPolicyReport",
    "openreports.io/Report",
    "openreports.io/ClusterReport",
    "reports.kyverno.io/EphemeralReport",
    "reports.kyverno.io/ClusterEphemeralReport",
    "kyverno.io/AdmissionReport",
    "kyverno.io/ClusterAdmissionReport",
    "kyverno.io/BackgroundScanReport",
    "kyverno.io/ClusterBackgroundScanReport",
];

/// `Kind` (any group) or `group/Kind`, as users write kinds on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindName {
    /// The group, as written before the last `/`; None: any group.
    pub group: Option<String>,
    /// The kind, matched without regard to case.
    pub kind: String,
}

impl KindName {
    /// As the user wrote it: `Kind` or `group/Kind`.
    pub fn text(&self) -> String {
        match &self.group {
            Some(group) => format!("{group}/{}", self.kind),
            None => self.kind.clone(),
        }
    }

    /// `group/Kind` split at its last `/`; text without one is a `Kind`
    /// of any group.
    pub fn parse(text: &str) -> KindName {
        match text.rsplit_once('/') {
            Some((group, kind)) => KindName {
                group: Some(group.to_string()),
                kind: kind.to_string(),
            },
            None => KindName {
                group: None,
                kind: text.to_string(),
            },
        }
    }

    /// Whether this name names `kind`: `group/Kind` only that group's kind,
    /// a bare `Kind` that kind in every group that serves it (discovery has
    /// already dropped alias groups, so `Event` is the core Event). Case is
    /// ignored.
    fn names(&self, kind: &ApiResource) -> bool {
        kind.kind.eq_ignore_ascii_case(&self.kind)
            && self.group.as_deref().is_none_or(|g| g == kind.group)
    }
}

/// What the user's flags leave in a scan's scope: kinds, namespaces and
/// a shard. The default filters nothing but the default exclusions
/// ([`DEFAULT_EXCLUDED_KINDS`]).
#[derive(Debug, Clone, Default)]
pub struct ScanFilters {
    /// When not empty, only these kinds are listed.
    pub include_kinds: Vec<KindName>,
    /// Added to the default exclusions.
    pub exclude_kinds: Vec<KindName>,
    /// When not empty, only these namespaces (and no cluster-scoped kinds).
    pub namespaces: Vec<String>,
    /// Namespaces left out (exact names): their objects are not
    /// evaluated, and their reports neither written nor pruned.
    pub exclude_namespaces: Vec<String>,
    /// `--shard I/N`: only this shard's partition ([`Shard`]) is listed,
    /// written and pruned.
    pub shard: Option<Shard>,
}

impl ScanFilters {
    /// Whether the scan covers objects (and reports) in `namespace`
    /// (`""` for cluster-scoped ones, which a shard owns one by one:
    /// [`Self::covers_object`]).
    pub fn covers_namespace(&self, namespace: &str) -> bool {
        namespace_covered(&self.namespaces, &self.exclude_namespaces, namespace)
            && (namespace.is_empty() || self.shard.is_none_or(|s| s.owns_namespace(namespace)))
    }

    /// Whether the scan covers the listed object `group`/`kind`
    /// `namespace`/`name` (`namespace` empty when cluster-scoped): the
    /// namespace filters, and a shard's partition. `per_namespace`: the
    /// reports are per namespace (`--report-per namespace`).
    pub fn covers_object(
        &self,
        group: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        per_namespace: bool,
    ) -> bool {
        if !namespace.is_empty() {
            return self.covers_namespace(namespace);
        }
        self.shard
            .is_none_or(|s| s.owns_cluster_object(group, kind, name, per_namespace))
    }

    /// Whether a stored report is this scan's to write over or prune: a
    /// namespaced one by its namespace; a ClusterPolicyReport by the
    /// resource its owner reference names (a shard's partition), by shard 0
    /// when it names none (the per-namespace layout's).
    pub fn covers_report(&self, report: &ExistingReport, per_namespace: bool) -> bool {
        if !report.key.cluster_scoped {
            return self.covers_namespace(&report.key.namespace);
        }
        if !self.covers_namespace("") {
            return false;
        }
        let Some(shard) = self.shard else {
            return true;
        };
        match (&report.scope_kind, &report.scope_name) {
            (Some((group, kind)), Some(name)) => {
                shard.owns_cluster_object(group, kind, name, per_namespace)
            }
            _ => shard.index == 0,
        }
    }

    /// The namespaces whose stored reports the scan reads, of the cluster's
    /// `namespaces`: those it covers, when it covers only some (`--namespace`,
    /// a shard); None when it covers the whole cluster (one read of every
    /// report is cheaper than one per namespace).
    pub fn report_namespaces<'a>(
        &self,
        namespaces: impl Iterator<Item = &'a str>,
    ) -> Option<Vec<String>> {
        if self.namespaces.is_empty() && self.shard.is_none() {
            return None;
        }
        Some(
            namespaces
                .filter(|namespace| self.covers_namespace(namespace))
                .map(str::to_string)
                .collect(),
        )
    }

    /// Whether the user's filters leave this kind in scope (policies aside).
    pub fn kind_in_scope(&self, kind: &ApiResource) -> bool {
        if !self.namespaces.is_empty() && !kind.namespaced {
            return false;
        }
        if !self.include_kinds.is_empty() {
            return self.include_kinds.iter().any(|name| name.names(kind));
        }
        !excluded_by_default(kind) && !self.exclude_kinds.iter().any(|name| name.names(kind))
    }
}

impl ScanFilters {
    /// `--include-kinds` entries naming no kind this server serves, one
    /// sentence each, with the served kind a typo away when there is one.
    /// A scan refuses them (a usage error): it would list less than meant,
    /// down to nothing, and its record would still read complete.
    pub fn unknown_included_kinds(&self, kinds: &[ApiResource]) -> Vec<String> {
        self.include_kinds
            .iter()
            .filter(|name| !kinds.iter().any(|k| name.names(k)))
            .map(|name| no_such_kind("--include-kinds", name, kinds))
            .collect()
    }

    /// `--namespace` entries naming no namespace in `namespaces`, one
    /// sentence each, with the namespace a typo away when there is one. A
    /// scan refuses them (a usage error), as unknown `--include-kinds`: a
    /// CronJob's misspelt namespace would otherwise scan nothing there, and
    /// exit 0, every run.
    pub fn unknown_namespaces<'a>(
        &self,
        namespaces: impl Iterator<Item = &'a str> + Clone,
    ) -> Vec<String> {
        no_such_namespaces("--namespace", &self.namespaces, namespaces)
    }

    /// What else the filters name that this server has not:
    /// `--exclude-kinds` entries matching no discovered kind, and
    /// `--exclude-namespaces` entries naming no namespace in `namespaces`.
    /// One sentence each, for a warning: a misspelt filter would otherwise
    /// silently scan more than meant. (Unknown `--include-kinds` and
    /// `--namespace` are refused: [`Self::unknown_included_kinds`],
    /// [`Self::unknown_namespaces`].)
    pub fn unmatched<'a>(
        &self,
        kinds: &[ApiResource],
        namespaces: impl Iterator<Item = &'a str> + Clone,
    ) -> Vec<String> {
        let mut said = Vec::new();
        for name in self
            .exclude_kinds
            .iter()
            .filter(|n| !kinds.iter().any(|k| n.names(k)))
        {
            said.push(no_such_kind("--exclude-kinds", name, kinds));
        }
        said.extend(no_such_namespaces(
            "--exclude-namespaces",
            &self.exclude_namespaces,
            namespaces,
        ));
        said
    }
}

/// "no such namespace" for each of a flag's `names` not in `namespaces`,
/// with the nearest one.
fn no_such_namespaces<'a>(
    flag: &str,
    names: &[String],
    namespaces: impl Iterator<Item = &'a str> + Clone,
) -> Vec<String> {
    names
        .iter()
        .filter(|n| !namespaces.clone().any(|known| known == n.as_str()))
        .map(|name| {
            let hint = nearest(name, namespaces.clone())
                .map(|near| format!(" (did you mean {near}?)"))
                .unwrap_or_default();
            format!("{flag} {name}: no such namespace in the cluster{hint}")
        })
        .collect()
}

pub use crate::evidence::run::record_format::namespace_covered;

/// The known name at most two edits from `typed` (case ignored), nearest
/// first: the "did you mean" of a misspelt namespace, policy or kind.
pub fn nearest<'a>(typed: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let typed = typed.to_ascii_lowercase();
    known
        .map(|name| {
            (
                strsim::osa_distance(&typed, &name.to_ascii_lowercase()),
                name,
            )
        })
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, name)| name)
}

/// The served kind (as `Kind` or `group/Kind`, as the user wrote it) at
/// most two edits from `name`, nearest first; case is ignored.
fn closest_kind(name: &KindName, kinds: &[ApiResource]) -> Option<String> {
    // The kind served through another group (an alias group such as
    // events.k8s.io, whose objects are listed once, through the other).
    if name.group.is_some() {
        if let Some(kind) = kinds
            .iter()
            .find(|k| k.kind.eq_ignore_ascii_case(&name.kind))
        {
            return Some(kind.display_name());
        }
    }
    let candidates: Vec<String> = kinds
        .iter()
        .map(|kind| match name.group {
            Some(_) => kind.display_name(),
            None => kind.kind.clone(),
        })
        .collect();
    nearest(&name.text(), candidates.iter().map(String::as_str)).map(str::to_string)
}

/// "no such kind" for a filter entry, with the nearest served kind.
fn no_such_kind(flag: &str, name: &KindName, kinds: &[ApiResource]) -> String {
    let hint = match closest_kind(name, kinds) {
        Some(kind) => format!("did you mean {kind}?"),
        None => {
            "kinds are written as Kind or group/Kind, e.g. Deployment or apps/Deployment".into()
        }
    };
    format!(
        "{flag} {}: the server serves no such kind ({hint})",
        name.text()
    )
}

/// Kinds polscan never evaluates unless asked by name (events, reports,
/// Secrets):
/// no report of a scan without `--include-kinds` holds their results.
pub fn excluded_by_default(kind: &ApiResource) -> bool {
    DEFAULT_EXCLUDED_KINDS.iter().any(|text| {
        KindName::parse(text).names(kind) && (text.contains('/') || kind.group.is_empty())
    })
}

/// Whether a kind left out by default keeps its stored reports: core
/// Secrets, which a scan naming them (`--include-kinds Secret`, say a
/// CronJob of its own) evaluates; a plain scan beside it must not prune
/// what that one wrote. Events and reports have no results anywhere.
pub fn keeps_reports_when_excluded(kind: &ApiResource) -> bool {
    kind.group.is_empty() && kind.kind == "Secret"
}

/// Why a discovered kind is not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotListed {
    /// The server does not allow listing it.
    NotListable,
    /// Left out by the user's filters.
    Filtered,
    /// One of the kinds polscan leaves out by default: known to have no
    /// results in any report.
    ExcludedByDefault,
    /// No policy can match it: it is known to have no results.
    NotTargeted,
}

/// The discovered kinds split: those to list, and the others with why.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// The kinds to list, in discovery's order.
    pub(crate) to_list: Vec<ApiResource>,
    /// Every other kind, with why it is not listed.
    pub(crate) not_listed: Vec<(ApiResource, NotListed)>,
}

/// Splits the discovered kinds into those to list and the rest.
pub(crate) fn select(
    kinds: &[ApiResource],
    filters: &ScanFilters,
    targets: &TargetKinds,
) -> Selection {
    let mut selection = Selection::default();
    for kind in kinds {
        let reason = if !kind.listable() {
            Some(NotListed::NotListable)
        } else if !filters.kind_in_scope(kind) {
            if filters.include_kinds.is_empty()
                && filters.namespaces.is_empty()
                && excluded_by_default(kind)
            {
                Some(NotListed::ExcludedByDefault)
            } else {
                Some(NotListed::Filtered)
            }
        } else if !targets.includes(kind) {
            Some(NotListed::NotTargeted)
        } else {
            None
        };
        match reason {
            None => selection.to_list.push(kind.clone()),
            Some(reason) => selection.not_listed.push((kind.clone(), reason)),
        }
    }
    selection
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_kind(group: &str, kind: &str, plural: &str, namespaced: bool) -> ApiResource {
        ApiResource {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            verbs: vec!["get".into(), "list".into()],
        }
    }

    fn everything() -> TargetKinds {
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("*");
        targets
    }

    #[test]
    fn a_partial_scan_reads_the_reports_of_its_own_namespaces_only() {
        let cluster: Vec<String> = (0..12).map(|i| format!("team-{i}")).collect();
        let names = || cluster.iter().map(String::as_str);
        assert_eq!(ScanFilters::default().report_namespaces(names()), None);
        let only = ScanFilters {
            namespaces: vec!["team-3".into()],
            ..ScanFilters::default()
        };
        assert_eq!(only.report_namespaces(names()), Some(vec!["team-3".into()]));
        // The shards read every namespace's reports once between them; an
        // excluded namespace's by none.
        let mut read = Vec::new();
        for index in 0..3 {
            let shard = ScanFilters {
                shard: Some(
                    super::super::shard::Shard::new(index, 3).unwrap_or_else(|e| panic!("{e}")),
                ),
                exclude_namespaces: vec!["team-0".into()],
                ..ScanFilters::default()
            };
            let own = shard.report_namespaces(names()).unwrap_or_default();
            assert!(own.iter().all(|n| shard.covers_namespace(n)), "{own:?}");
            read.extend(own);
        }
        read.sort();
        let mut expected = cluster[1..].to_vec();
        expected.sort();
        assert_eq!(read, expected);
    }

    #[test]
    fn misspelt_kinds_and_namespaces_are_named() {
        let kinds = [
            api_kind("", "Pod", "pods", true),
            api_kind("apps", "Deployment", "deployments", true),
        ];
        let filters = ScanFilters {
            include_kinds: vec![
                KindName::parse("deployment"),
                KindName::parse("Deploymnet"),
                KindName::parse("apps/Deploymnt"),
                KindName::parse("Certificate"),
            ],
            exclude_kinds: vec![KindName::parse("batch/Job"), KindName::parse("Pods")],
            shard: None,
            namespaces: vec!["shop".into(), "shpo".into()],
            exclude_namespaces: vec!["kube-system".into(), "kube-sytem".into()],
        };
        // Unknown kinds to include are refused, with the nearest served one.
        assert_eq!(
            filters.unknown_included_kinds(&kinds),
            [
                "--include-kinds Deploymnet: the server serves no such kind (did you mean Deployment?)",
                "--include-kinds apps/Deploymnt: the server serves no such kind (did you mean apps/Deployment?)",
                "--include-kinds Certificate: the server serves no such kind (kinds are written as Kind or group/Kind, e.g. Deployment or apps/Deployment)",
            ]
        );
        // So are unknown namespaces to scan.
        let namespaces = ["shop", "kube-system"];
        assert_eq!(
            filters.unknown_namespaces(namespaces.into_iter()),
            ["--namespace shpo: no such namespace in the cluster (did you mean shop?)"]
        );
        // The rest is warned about.
        let said = filters.unmatched(&kinds, namespaces.into_iter());
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(said[0]
            .starts_with("--exclude-kinds batch/Job: the server serves no such kind (kinds are"));
        assert_eq!(
            said[1],
            "--exclude-kinds Pods: the server serves no such kind (did you mean Pod?)"
        );
        assert_eq!(
            said[2],
            "--exclude-namespaces kube-sytem: no such namespace in the cluster (did you mean kube-system?)"
        );
        // A kind listed through another group: named, not guessed at.
        let alias = ScanFilters {
            include_kinds: vec![KindName::parse("events.k8s.io/Event")],
            ..ScanFilters::default()
        };
        let with_event = [api_kind("", "Event", "events", true)];
        assert_eq!(
            alias.unknown_included_kinds(&with_event),
            ["--include-kinds events.k8s.io/Event: the server serves no such kind (did you mean Event?)"]
        );
        let fine = ScanFilters {
            include_kinds: vec![KindName::parse("POD"), KindName::parse("apps/Deployment")],
            ..ScanFilters::default()
        };
        assert!(fine.unknown_included_kinds(&kinds).is_empty());
    }

    fn names(selection: &Selection) -> Vec<String> {
        selection
            .to_list
            .iter()
            .map(ApiResource::display_name)
            .collect()
    }

    #[test]
    fn events_and_reports_are_excluded_by_default() {
        let kinds = vec![
            api_kind("", "Pod", "pods", true),
            api_kind("", "Event", "events", true),
            api_kind("events.k8s.io", "Event", "events", true),
            api_kind("wgpolicyk8s.io", "PolicyReport", "policyreports", true),
            api_kind("example.com", "Event", "events", true),
        ];
        let selection = select(&kinds, &ScanFilters::default(), &everything());
        // A custom resource that happens to be called Event stays.
        assert_eq!(names(&selection), ["Pod", "example.com/Event"]);
        // Left out by default (no report holds their results), not by the
        // user's filters: the listing stays complete.
        assert!(selection
            .not_listed
            .iter()
            .all(|(_, reason)| *reason == NotListed::ExcludedByDefault));
        assert_eq!(selection.not_listed.len(), 3);
        let asked = ScanFilters {
            include_kinds: vec![KindName::parse("Event")],
            ..ScanFilters::default()
        };
        assert_eq!(
            names(&select(&kinds, &asked, &everything())),
            ["Event", "events.k8s.io/Event", "example.com/Event"]
        );
    }

    #[test]
    fn secrets_are_scanned_only_when_named() {
        let kinds = vec![
            api_kind("", "Pod", "pods", true),
            api_kind("", "Secret", "secrets", true),
            api_kind("example.com", "Secret", "secrets", true),
        ];
        let selection = select(&kinds, &ScanFilters::default(), &everything());
        // A custom resource that happens to be called Secret stays.
        assert_eq!(names(&selection), ["Pod", "example.com/Secret"]);
        assert_eq!(
            selection
                .not_listed
                .first()
                .map(|(k, r)| (k.display_name(), *r)),
            Some(("Secret".to_string(), NotListed::ExcludedByDefault))
        );
        // Excluding another kind does not bring them back.
        let other = ScanFilters {
            exclude_kinds: vec![KindName::parse("Pod")],
            ..ScanFilters::default()
        };
        assert_eq!(
            names(&select(&kinds, &other, &everything())),
            ["example.com/Secret"]
        );
        let asked = ScanFilters {
            include_kinds: vec![KindName::parse("Secret"), KindName::parse("Pod")],
            ..ScanFilters::default()
        };
        assert_eq!(
            names(&select(&kinds, &asked, &everything())),
            ["Pod", "Secret", "example.com/Secret"]
        );
    }

    #[test]
    fn include_exclude_and_namespace_filters() {
        let kinds = vec![
            api_kind("", "Pod", "pods", true),
            api_kind("", "Secret", "secrets", true),
            api_kind("apps", "Deployment", "deployments", true),
            api_kind("", "Namespace", "namespaces", false),
        ];
        let filters = ScanFilters {
            exclude_kinds: vec![KindName::parse("Secret")],
            ..ScanFilters::default()
        };
        assert_eq!(
            names(&select(&kinds, &filters, &everything())),
            ["Pod", "apps/Deployment", "Namespace"]
        );
        let filters = ScanFilters {
            include_kinds: vec![KindName::parse("apps/Deployment")],
            ..ScanFilters::default()
        };
        assert_eq!(
            names(&select(&kinds, &filters, &everything())),
            ["apps/Deployment"]
        );
        let filters = ScanFilters {
            namespaces: vec!["team-a".into()],
            ..ScanFilters::default()
        };
        // One namespace's audit leaves cluster-scoped kinds out (and
        // Secrets, as every scan not naming them).
        assert_eq!(
            names(&select(&kinds, &filters, &everything())),
            ["Pod", "apps/Deployment"]
        );
        assert!(filters.covers_namespace("team-a"));
        assert!(!filters.covers_namespace("team-b"));
        assert!(!filters.covers_namespace(""));
        let filters = ScanFilters {
            exclude_namespaces: vec!["kube-system".into()],
            ..ScanFilters::default()
        };
        assert!(!filters.covers_namespace("kube-system"));
        assert!(filters.covers_namespace(""));
    }

    #[test]
    fn unlistable_and_untargeted_kinds_are_not_listed() {
        let mut review = api_kind(
            "authorization.k8s.io",
            "SubjectAccessReview",
            "subjectaccessreviews",
            false,
        );
        review.verbs = vec!["create".into()];
        let kinds = vec![
            review,
            api_kind("", "Pod", "pods", true),
            api_kind("", "ConfigMap", "configmaps", true),
        ];
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("Pod");
        let selection = select(&kinds, &ScanFilters::default(), &targets);
        assert_eq!(names(&selection), ["Pod"]);
        let reasons: Vec<NotListed> = selection.not_listed.iter().map(|(_, r)| *r).collect();
        assert_eq!(reasons, [NotListed::NotListable, NotListed::NotTargeted]);
    }
}
