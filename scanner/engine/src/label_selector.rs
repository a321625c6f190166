//! Kubernetes label selectors (`matchLabels`, `matchExpressions`) as
//! Kyverno policies, PolicyExceptions, CEL policies' `matchConstraints` and
//! context lookups carry them, and how they match a set of labels. A
//! selector and labels enter; whether they match (or why the selector is
//! invalid) leaves.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::value_types::wildcard;

/// A Kubernetes label selector (`metav1.LabelSelector`): every `matchLabels`
/// entry and every `matchExpressions` requirement must hold; an empty selector
/// selects everything.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// `matchLabels`: label keys and the values they must have (Kyverno allows
    /// wildcards in both).
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`: requirements that must all hold.
    #[serde(default)]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` requirement.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`; another operator makes the
    /// selector invalid.
    pub operator: String,
    /// The values of `In` and `NotIn` (which need at least one).
    #[serde(default)]
    pub values: Vec<String>,
}

/// A Kubernetes label selector, with Kyverno's wildcard expansion of
/// `matchLabels` keys and values.
pub(crate) fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    for (key, value) in &selector.match_labels {
        let matched = if wildcard::has_wildcard(key) || wildcard::has_wildcard(value) {
            labels
                .iter()
                .any(|(k, v)| wildcard::matches(key, k) && wildcard::matches(value, v))
        } else {
            labels.get(key) == Some(value)
        };
        if !matched {
            return Ok(false);
        }
    }
    for requirement in &selector.match_expressions {
        let present = labels.get(&requirement.key);
        let ok = match requirement.operator.as_str() {
            "In" => {
                if requirement.values.is_empty() {
                    return Err(format!(
                        "values must be non-empty for operator In on {}",
                        requirement.key
                    ));
                }
                present.is_some_and(|v| requirement.values.contains(v))
            }
            "NotIn" => {
                if requirement.values.is_empty() {
                    return Err(format!(
                        "values must be non-empty for operator NotIn on {}",
                        requirement.key
                    ));
                }
                present.is_none_or(|v| !requirement.values.contains(v))
            }
            "Exists" => present.is_some(),
            "DoesNotExist" => present.is_none(),
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
