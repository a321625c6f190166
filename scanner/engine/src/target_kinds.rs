//! Which kinds a set of policies can match, so a cluster scan lists only
//! those. The engine's policies enter (Kyverno rule `match` kinds, CEL
//! policies' `matchConstraints.resourceRules`); [`TargetKinds::includes`]
//! answers for one served kind (an [`ApiResource`]). It errs on
//! the side of listing: exclusions are ignored, and a policy on Pods also
//! targets the Pod controllers autogen extends it to.

use super::admission::ResourceRule;
use super::matching::parse_kind_selector;
use crate::kinds::ApiResource;
use crate::value_types::wildcard;

/// Controllers Kyverno's autogen extends Pod policies to.
const POD_CONTROLLERS: [(&str, &str); 7] = [
    ("apps", "Deployment"),
    ("apps", "DaemonSet"),
    ("apps", "StatefulSet"),
    ("apps", "ReplicaSet"),
    ("", "ReplicationController"),
    ("batch", "Job"),
    ("batch", "CronJob"),
];

/// The kinds a set of policies can match, so a scan lists only those: Kyverno
/// kind selectors, CEL policies' resource rules, and the Pod controllers when
/// some policy targets Pods (Kyverno's autogen extends it to them).
#[derive(Debug, Clone, Default)]
pub struct TargetKinds {
    /// Kyverno kind selectors (`Pod`, `apps/v1/Deployment`, `*`, ...).
    selectors: Vec<String>,
    /// Kubernetes resource rules of CEL policies.
    resource_rules: Vec<ResourceRule>,
    /// Some policy targets Pods, so Pod controllers are wanted too.
    pods_targeted: bool,
}

impl TargetKinds {
    /// Adds a Kyverno kind selector (`Pod`, `apps/v1/Deployment`, `*`, ...).
    pub fn add_kyverno_kind(&mut self, selector: &str) {
        self.selectors.push(selector.to_string());
        let (group, _, kind, _) = parse_kind_selector(selector);
        if wildcard::matches(&group, "") && wildcard::matches(&kind, "Pod") {
            self.pods_targeted = true;
        }
    }

    pub(crate) fn add_resource_rule(&mut self, rule: &ResourceRule) {
        let any = |list: &[String], value: &str| list.iter().any(|i| i == "*" || i == value);
        if any(&rule.api_groups, "")
            && rule
                .resources
                .iter()
                .any(|r| r == "*" || r == "*/*" || r == "pods" || r == "pods/*")
        {
            self.pods_targeted = true;
        }
        self.resource_rules.push(rule.clone());
    }

    /// Adds a resource rule the API server applies as written (a
    /// ValidatingAdmissionPolicy's): no autogen to the Pod controllers.
    pub(crate) fn add_resource_rule_as_written(&mut self, rule: &ResourceRule) {
        self.resource_rules.push(rule.clone());
    }

    /// Adds another set's kinds to this one.
    pub(crate) fn extend(&mut self, other: TargetKinds) {
        self.selectors.extend(other.selectors);
        self.resource_rules.extend(other.resource_rules);
        self.pods_targeted |= other.pods_targeted;
    }

    /// True when no policy targets anything.
    pub fn is_empty(&self) -> bool {
        self.selectors.is_empty() && self.resource_rules.is_empty()
    }

    /// Whether some policy names this kind itself — a kind selector or a
    /// resource without a wildcard (`*`, `Se*`), or, naming Pods, one of
    /// the Pod controllers autogen extends it to: a kind whose absence
    /// from a scan leaves the policy unjudged there. A wildcard names no
    /// kind, as the evidence reads it (a `*` policy is not held back by the
    /// Secrets a scan leaves out by default).
    pub fn names(&self, kind: &ApiResource) -> bool {
        let plain = |text: &str| !text.contains(['*', '?']);
        let mut named = TargetKinds::default();
        for selector in &self.selectors {
            let (_, _, name, _) = parse_kind_selector(selector);
            if plain(&name) {
                named.add_kyverno_kind(selector);
            }
        }
        for rule in &self.resource_rules {
            let resources: Vec<String> = rule
                .resources
                .iter()
                .filter(|r| r.split('/').next().is_some_and(plain))
                .cloned()
                .collect();
            if !resources.is_empty() {
                named.add_resource_rule(&ResourceRule {
                    resources,
                    ..rule.clone()
                });
            }
        }
        // A rule applied as written (a ValidatingAdmissionPolicy's) names
        // no Pod controller (verify45 F7).
        named.pods_targeted &= self.pods_targeted;
        named.includes(kind)
    }

    /// Whether some policy may match objects of this kind.
    pub fn includes(&self, kind: &ApiResource) -> bool {
        if self.pods_targeted
            && POD_CONTROLLERS
                .iter()
                .any(|(group, name)| *group == kind.group && *name == kind.kind)
        {
            return true;
        }
        // Versions are not compared: a scan matches a kind in whichever
        // version the server serves it (admission's `matchPolicy:
        // Equivalent`), so a `batch/v1/CronJob` selector still wants the
        // `batch/v1beta1` CronJobs of an older server listed.
        let by_selector = self.selectors.iter().any(|selector| {
            let (group, _, name, _) = parse_kind_selector(selector);
            wildcard::matches(&group, &kind.group) && wildcard::matches(&name, &kind.kind)
        });
        by_selector
            || self.resource_rules.iter().any(|rule| {
                let any =
                    |list: &[String], value: &str| list.iter().any(|i| i == "*" || i == value);
                any(&rule.api_groups, &kind.group)
                    && rule.resources.iter().any(|r| {
                        r == "*"
                            || r == "*/*"
                            || r == &kind.plural
                            || r.strip_suffix("/*") == Some(kind.plural.as_str())
                    })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(group: &str, version: &str, name: &str, plural: &str) -> ApiResource {
        ApiResource {
            group: group.into(),
            version: version.into(),
            kind: name.into(),
            plural: plural.into(),
            namespaced: true,
            verbs: vec!["list".into()],
        }
    }

    fn rule(groups: &[&str], versions: &[&str], resources: &[&str]) -> ResourceRule {
        ResourceRule {
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            api_versions: versions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..ResourceRule::default()
        }
    }

    /// A rule applied as written reaches no Pod controller.
    #[test]
    fn a_resource_rule_as_written_has_no_autogen() {
        let mut targets = TargetKinds::default();
        targets.add_resource_rule_as_written(&rule(&[""], &["v1"], &["pods"]));
        assert!(targets.includes(&kind("", "v1", "Pod", "pods")));
        assert!(!targets.includes(&kind("apps", "v1", "Deployment", "deployments")));
        assert!(targets.names(&kind("", "v1", "Pod", "pods")));
        assert!(!targets.names(&kind("apps", "v1", "Deployment", "deployments")));
    }

    /// A wildcard names no kind; a named Pod names its controllers.
    #[test]
    fn only_kinds_named_without_a_wildcard_are_named() {
        let secret = kind("", "v1", "Secret", "secrets");
        let deployment = kind("apps", "v1", "Deployment", "deployments");
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("*");
        targets.add_resource_rule(&rule(&["*"], &["*"], &["*"]));
        assert!(targets.includes(&secret) && targets.includes(&deployment));
        assert!(!targets.names(&secret) && !targets.names(&deployment));
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("Pod");
        targets.add_resource_rule(&rule(&[""], &["v1"], &["secrets", "*"]));
        assert!(targets.names(&secret) && targets.names(&deployment));
        assert!(!targets.names(&kind("", "v1", "ConfigMap", "configmaps")));
    }

    #[test]
    fn kyverno_selectors_in_every_form() {
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("Service");
        targets.add_kyverno_kind("networking.k8s.io/v1/Ingress");
        targets.add_kyverno_kind("v1/ConfigMap");
        assert!(targets.includes(&kind("", "v1", "Service", "services")));
        assert!(targets.includes(&kind("networking.k8s.io", "v1", "Ingress", "ingresses")));
        assert!(!targets.includes(&kind("extensions", "v1beta1", "Ingress", "ingresses")));
        assert!(targets.includes(&kind("", "v1", "ConfigMap", "configmaps")));
        assert!(!targets.includes(&kind("", "v1", "Secret", "secrets")));
        // No Pod policy: controllers are not needed.
        assert!(!targets.includes(&kind("apps", "v1", "Deployment", "deployments")));
    }

    #[test]
    fn pod_policies_also_target_pod_controllers() {
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("Pod");
        assert!(targets.includes(&kind("", "v1", "Pod", "pods")));
        assert!(targets.includes(&kind("apps", "v1", "Deployment", "deployments")));
        assert!(targets.includes(&kind("batch", "v1", "CronJob", "cronjobs")));
        assert!(!targets.includes(&kind("", "v1", "Namespace", "namespaces")));
    }

    #[test]
    fn selectors_pinning_a_version_want_the_kind_in_every_served_version() {
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("batch/v1/CronJob");
        targets.add_kyverno_kind("networking.k8s.io/*/Ingress");
        targets.add_resource_rule(&rule(&["policy"], &["v1"], &["poddisruptionbudgets"]));
        assert!(targets.includes(&kind("batch", "v1beta1", "CronJob", "cronjobs")));
        assert!(targets.includes(&kind(
            "networking.k8s.io",
            "v1beta1",
            "Ingress",
            "ingresses"
        )));
        assert!(targets.includes(&kind(
            "policy",
            "v1beta1",
            "PodDisruptionBudget",
            "poddisruptionbudgets"
        )));
        assert!(!targets.includes(&kind("batch", "v1", "Job", "jobs")));
    }

    #[test]
    fn wildcards_target_everything() {
        let mut targets = TargetKinds::default();
        targets.add_kyverno_kind("*");
        assert!(targets.includes(&kind("example.com", "v1", "Widget", "widgets")));
    }

    #[test]
    fn cel_resource_rules() {
        let mut targets = TargetKinds::default();
        targets.add_resource_rule(&rule(&["apps"], &["v1"], &["deployments"]));
        targets.add_resource_rule(&rule(&["*"], &["*"], &["configmaps/*"]));
        assert!(targets.includes(&kind("apps", "v1", "Deployment", "deployments")));
        assert!(!targets.includes(&kind("apps", "v1", "StatefulSet", "statefulsets")));
        assert!(targets.includes(&kind("", "v1", "ConfigMap", "configmaps")));
        assert!(!targets.includes(&kind("", "v1", "Pod", "pods")));
        let mut pods = TargetKinds::default();
        pods.add_resource_rule(&rule(&[""], &["v1"], &["pods"]));
        assert!(pods.includes(&kind("apps", "v1", "StatefulSet", "statefulsets")));
        assert!(TargetKinds::default().is_empty());
    }
}
