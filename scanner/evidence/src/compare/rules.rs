//! The rule diff of `--since`: a policy as the previous and as the current
//! package describe it ([`PolicyInfo`]s) enter; a [`RuleChange`] (its
//! violations still empty: [`super::compare_with`] attributes them) and
//! which of the policy's rules may judge otherwise ([`Affected`]) leave,
//! or nothing when the rules and actions are the same.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::ingest::policy_info::PolicyInfo;
use crate::ingest::rule_content::MAX_RECORDED_BYTES;
use crate::model::{RuleChange, RuleChangeStatus};
use crate::promotion::diff::hunks;
use polscan_engine::exceptions::annotation::base_rule;

/// Which rules of a policy a change may make judge otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Affected {
    /// Every rule (a spec field besides the rules changed, a CEL policy's
    /// one rule, or the change is not known in detail).
    All,
    /// These rules, by name.
    Rules(BTreeSet<String>),
}

impl Affected {
    /// Whether a result of `rule` (an autogen variant acts as its rule)
    /// may differ because of the change.
    pub(super) fn covers(&self, rule: &str) -> bool {
        match self {
            Affected::All => true,
            Affected::Rules(names) => names.contains(base_rule(rule)) || names.contains(rule),
        }
    }
}

/// A policy's rule change and the rules it affects (None for an
/// actions-only change: no result differs by it).
pub(super) struct Diffed {
    pub(super) change: RuleChange,
    pub(super) affected: Option<Affected>,
}

/// YAML of a value; its JSON where YAML cannot write it.
fn yaml(value: &Value) -> String {
    serde_yaml::to_string(value)
        .unwrap_or_else(|_| serde_json::to_string_pretty(value).unwrap_or_default())
}

fn empty_change(policy: String, status: RuleChangeStatus) -> RuleChange {
    RuleChange {
        policy,
        status,
        added_rules: Vec::new(),
        removed_rules: Vec::new(),
        changed_rules: Vec::new(),
        changed_fields: Vec::new(),
        diff: String::new(),
        actions_diff: String::new(),
        note: None,
        removed_violations: Vec::new(),
        added_violations: Vec::new(),
    }
}

/// The note of a [`RuleChangeStatus::NotRecorded`] change whose previous
/// package had no document of the policy (neither found in the cluster
/// nor given with `--policies-from`), as opposed to one that had it but
/// kept no rules.
pub(crate) const NO_DOCUMENT_BEFORE: &str = "the previous package did not have the policy's document (not found in the cluster, nor given with --policies-from): whether its rules changed cannot be told";

/// The note of a [`RuleChangeStatus::Changed`] change the last scan could
/// not load (an invalid policy): its results are the earlier rules',
/// carried over, so nothing in them is the change's doing.
pub(crate) const NOT_LOADED_BY_THE_LAST_SCAN: &str = "the last scan could not load the policy as changed: the reports hold results of its earlier rules, carried over, so no violation is credited to the change";

/// How the rules of `policy` changed from `previous` to `current`; None
/// when neither they nor the action fields did (or the current document
/// is not known: nothing to compare with).
pub(super) fn diff(previous: &PolicyInfo, current: &PolicyInfo) -> Option<Diffed> {
    let name = current.qualified_name();
    let now = current.rule_content.as_ref()?;
    let Some(before) = previous.rule_content.as_ref() else {
        // The same document, or the same rulesDigest (all it judges by
        // but the action, and more): the same rules, recorded or not.
        let same_document = matches!((&previous.digest, &current.digest),
            (Some(a), Some(b)) if a.digest == b.digest)
            || matches!((&previous.rules_digest, &current.rules_digest),
            (Some(a), Some(b)) if a == b);
        // No document at all (walk69 W69-2: a policy given only as files
        // the earlier package was not given): nothing changed that is
        // known, it was not known then.
        let unknown_then = previous.digest.is_none() && previous.rules_digest.is_none();
        return (!same_document).then(|| Diffed {
            change: RuleChange {
                note: unknown_then.then(|| NO_DOCUMENT_BEFORE.to_string()),
                ..empty_change(name, RuleChangeStatus::NotRecorded)
            },
            affected: Some(Affected::All),
        });
    };
    let actions_diff = if before.actions == now.actions {
        String::new()
    } else {
        hunks(
            "previous actions",
            "current actions",
            &yaml(&Value::Object(before.actions.clone())),
            &yaml(&Value::Object(now.actions.clone())),
        )
    };
    if before.digest == now.digest {
        return (!actions_diff.is_empty()).then(|| Diffed {
            change: RuleChange {
                actions_diff,
                ..empty_change(name, RuleChangeStatus::ActionsChanged)
            },
            affected: None,
        });
    }
    let mut change = RuleChange {
        actions_diff,
        ..empty_change(name, RuleChangeStatus::Changed)
    };
    let (Some(old), Some(new)) = (&before.content, &now.content) else {
        change.note = Some(format!(
            "the rules are larger than {} KiB: the packages kept only their digest, which changed; every rule may judge otherwise",
            MAX_RECORDED_BYTES / 1024
        ));
        return Some(Diffed {
            change,
            affected: Some(Affected::All),
        });
    };
    change.diff = hunks("previous rules", "current rules", &yaml(old), &yaml(new));
    let (old_rules, new_rules) = (before.named_rules(), now.named_rules());
    let old_by_name: BTreeMap<&str, &Value> =
        old_rules.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let new_by_name: BTreeMap<&str, &Value> =
        new_rules.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    for (rule, content) in &new_by_name {
        match old_by_name.get(rule) {
            None => change.added_rules.push(rule.to_string()),
            Some(old) if old != content => change.changed_rules.push(rule.to_string()),
            Some(_) => {}
        }
    }
    change.removed_rules = old_by_name
        .keys()
        .filter(|rule| !new_by_name.contains_key(*rule))
        .map(|rule| rule.to_string())
        .collect();
    // Spec fields besides the rules: they change how every rule judges.
    let fields = |content: &Value| -> BTreeMap<String, Value> {
        content
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| key.as_str() != "rules")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    };
    let (old_fields, new_fields) = (fields(old), fields(new));
    let keys: BTreeSet<&String> = old_fields.keys().chain(new_fields.keys()).collect();
    change.changed_fields = keys
        .into_iter()
        .filter(|key| old_fields.get(*key) != new_fields.get(*key))
        .cloned()
        .collect();
    let names = |rules: &[(String, &Value)]| rules.iter().map(|(n, _)| n.clone()).collect();
    let (old_order, new_order): (Vec<String>, Vec<String>) = (names(&old_rules), names(&new_rules));
    let rules_differ = !change.added_rules.is_empty()
        || !change.removed_rules.is_empty()
        || !change.changed_rules.is_empty();
    if !rules_differ && old_order != new_order {
        // With applyRules: One, the order decides which rule reports.
        change.changed_fields.push("rules (their order)".into());
    }
    let affected = if !change.changed_fields.is_empty() || new_rules.is_empty() {
        Affected::All
    } else {
        Affected::Rules(
            change
                .added_rules
                .iter()
                .chain(&change.removed_rules)
                .chain(&change.changed_rules)
                .cloned()
                .collect(),
        )
    };
    Some(Diffed {
        change,
        affected: Some(affected),
    })
}
