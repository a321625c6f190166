//! Promotion and rollback as Git changes: the texts of a policy
//! repository's YAML files (path → content) and one policy's identity
//! enter; where its action is set and two unified diffs leave — one
//! switching it to Enforce (`Deny` for `validationActions`), one back to
//! Audit — or why no patch can be made ([`GitChange`]). No I/O: the CLI
//! reads the repository (`evidence --policy-repo`), [`Repository`] parses
//! it once for every policy, and the package writes the diffs
//! (`patches/<policy>/promote.patch`, `rollback.patch`).
//!
//! The action is found where Kyverno reads it: a ClusterPolicy's or
//! Policy's `spec.validationFailureAction` and each rule's
//! `validate.failureAction` (or the older per-rule
//! `validationFailureAction`), a (Namespaced)ValidatingPolicy's
//! `spec.validationActions`, a ValidatingAdmissionPolicy's bindings'
//! `spec.validationActions` — in a plain manifest or in a Helm chart's
//! template, where a `{{ .Values.… }}` value is followed to the values
//! file(s) (or a Flux HelmRelease's `spec.values`) that set it. Edits are
//! line edits of the value as written (comments, indentation and quoting
//! stay; nothing is re-serialised), and an edited manifest or values file
//! is read back to check the change says what it should. A policy found
//! in several places, with per-namespace action overrides, or templated
//! in a way not followed gets a [`GitChange::problem`], never a guess.
//! Given the cluster's policy ([`Soaked`]), Git's is checked to be the one
//! that soaked (`soaked.rs`): other rules get a problem and no patch.

pub(crate) mod diff;
mod repository;
mod soaked;
mod yaml_lines;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use diff::LineEdit;
use repository::{documents, is_helm_release, is_values_file, longest_root, same_repository};
pub use repository::{Repository, SOURCE_IGNORE_FILE};
pub use soaked::Soaked;
use yaml_lines::{flow_items, requote, unquote, Entry, Segment};

/// The directory of the patches in a package.
pub const PATCHES_DIR: &str = "patches";
/// The file switching a policy to Enforce, in its patch directory.
pub const PROMOTE_FILE: &str = "promote.patch";
/// The file returning a policy to Audit, in its patch directory.
pub const ROLLBACK_FILE: &str = "rollback.patch";

/// Which policy: as the evidence names it.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRef<'a> {
    /// `ClusterPolicy`, `Policy`, `ValidatingPolicy`,
    /// `NamespacedValidatingPolicy` or `ValidatingAdmissionPolicy`.
    pub kind: &'a str,
    /// Its name.
    pub name: &'a str,
    /// A namespaced policy's namespace.
    pub namespace: Option<&'a str>,
}

/// One patch of the package: its path in the package and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchFile {
    /// `patches/<policy>/promote.patch` or `…/rollback.patch`.
    pub file: String,
    /// The unified diff, relative to the repository's root (`git apply`
    /// in it).
    pub diff: String,
}

/// A policy's action as a Git change (evidence.json's `gitChange`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitChange {
    /// Where the action is set: `<file>:<line> <field>` (line 1-based).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
    /// Switches the policy to Enforce; None when Git has it in Enforce
    /// already, or with a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<PatchFile>,
    /// Returns it to Audit: applied after `promote`, the exact reverse of
    /// it (fields Git enforced before stay so); applied to the repository
    /// as it is when Git has it in Enforce, every action field to Audit.
    /// None with a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<PatchFile>,
    /// Facts about the change: Git has it in Enforce already, a chart's
    /// default values are what is patched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why no patch was made (not found, found in several places,
    /// templated in a way not followed, other rules than those that
    /// soaked); None when patches were made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Other documents the promotion switches too (a values key several
    /// templates read), for [`hold_back_shared`]; not in evidence.json.
    #[serde(skip)]
    pub also_switches: Vec<Reader>,
    /// The rules Git's (plain YAML) policy enforces already, its own
    /// action or the policy's; not in evidence.json.
    #[serde(skip)]
    pub git_enforced_rules: Vec<String>,
    /// Whether what the patch changes may make other policies too: a Helm
    /// template's line or values key, or a kustomize base (or folder)
    /// several overlays or Flux Kustomizations build; not in
    /// evidence.json.
    #[serde(skip)]
    pub shared_source: bool,
    /// The rules Git's (plain YAML) policy still enforces once
    /// rollback.patch is in (those Git enforced before the switch): a
    /// ROLL BACK whose failing rule is among them does not end with the
    /// patch (verify48 V48-17); not in evidence.json.
    #[serde(skip)]
    pub enforced_after_rollback: Vec<String>,
    /// Git's policy is not the one that soaked in the cluster (its rules,
    /// or a ValidatingAdmissionPolicy's bindings, differ beyond the action
    /// fields): no patch, and the policy is not ready (the `problem` says
    /// why).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rules_differ: bool,
    /// The files of the repository holding the policy's document (or
    /// its bindings): where the action is changed by hand when no patch
    /// is made; not in evidence.json.
    #[serde(skip)]
    pub git_files: Vec<String>,
}

/// Holds back the promotion of a policy whose patch switches another
/// document too (a values key several templates read): unless each of
/// them is a policy of `evidence` that is ready or enforces already, the
/// patch would enforce what no soak judged ready (verify46 F3: a GO's
/// patch enforced a NO-GO policy through a shared Helm value). After the
/// switch, the rollback alike: unless each other reader is in Audit, the
/// rollback would un-enforce it (verify47 V47-2). Its promote and
/// rollback patches go, and its problem says why.
pub fn hold_back_shared(evidence: &mut crate::model::Evidence) {
    use crate::model::{PolicyEvidence, Verdict};
    // Ready, and Git holds the version that soaked: a WAIT for Git's
    // newer rules is not decided yet when this runs (walk48 W48-4: the
    // patch enforced a version no scan judged).
    let ready = |p: &PolicyEvidence| {
        (p.verdict == Verdict::Ready && !p.git_change.as_ref().is_some_and(|c| c.rules_differ))
            || p.info.enforce_changes_nothing()
    };
    let audited = |p: &PolicyEvidence| p.info.action == "Audit";
    // A reader names a kind and a name, not a namespace (a template's
    // may be `{{ .Release.Namespace }}`): every policy of that kind and
    // name must be fine, and one at least must be known (verify47 V47-12:
    // a ready shop/b vouched for a NO-GO dev/b).
    let all_named = |(kind, name): &(String, String), test: &dyn Fn(&PolicyEvidence) -> bool| {
        let mut named = evidence
            .policies
            .iter()
            .filter(|p| &p.info.kind == kind && &p.info.name == name)
            .peekable();
        named.peek().is_some() && named.all(test)
    };
    let held: Vec<Option<String>> = evidence
        .policies
        .iter()
        .enumerate()
        .map(|(index, policy)| {
            let change = policy.git_change.as_ref()?;
            let promoting = change.promote.is_some();
            if !promoting {
                change.rollback.as_ref()?;
            }
            // What else the patched lines make: other readers of a values
            // key, and other policies located at the same place (one
            // template or kustomize base rendered in several namespaces:
            // verify47 V47-10, V47-11).
            let fine: &dyn Fn(&PolicyEvidence) -> bool = if promoting { &ready } else { &audited };
            let mut others: Vec<String> = change
                .also_switches
                .iter()
                .filter(|reader| !reader.identity.as_ref().is_some_and(|id| all_named(id, fine)))
                .map(Reader::describe)
                .collect();
            // By `file:line`: a location names its reader too, and one
            // values line two charts read is one place (verify48 V48-18).
            let place = |location: &String| location.split(' ').next().unwrap_or("").to_string();
            let ours: BTreeSet<String> = change.locations.iter().map(place).collect();
            for (other_index, other) in evidence.policies.iter().enumerate() {
                let shares = other_index != index
                    && other.git_change.as_ref().is_some_and(|theirs| {
                        theirs.locations.iter().any(|l| ours.contains(&place(l)))
                    });
                if shares && !fine(other) {
                    let named = match &other.info.namespace {
                        Some(namespace) => format!("{} {namespace}/{}", other.info.kind, other.info.name),
                        None => format!("{} {}", other.info.kind, other.info.name),
                    };
                    let place = other.git_change.as_ref().and_then(|c| c.locations.first());
                    let line = match place {
                        Some(place) => format!("{named} (also made from {place})"),
                        None => named,
                    };
                    // Named once, as a reader already if it is one.
                    let already = others.iter().any(|o| {
                        o.starts_with(&format!("{} {} (", other.info.kind, other.info.name))
                    });
                    if !already && !others.contains(&line) {
                        others.push(line);
                    }
                }
            }
            if others.is_empty() {
                return None;
            }
            Some(if promoting {
                format!(
                    "the line its patch changes (a values key or file, or a base several builds share) is also read by {}, which is not ready (or not known to be): the patch would enforce it too; give each policy its own values key (or overlay patch), or change the action by hand",
                    others.join(", ")
                )
            } else {
                // After the switch: its rollback.patch would take every
                // other reader out of Enforce too (verify47 V47-2: a ROLL
                // BACK un-enforced a clean, enforced policy).
                format!(
                    "the line its rollback.patch sets back to Audit (a values key or file, or a base several builds share) is also read by {}, which may be enforced through it: the patch would take them out of Enforce too; give each policy its own values key (or overlay patch), or write Audit into this policy's own template",
                    others.join(", ")
                )
            })
        })
        .collect();
    for (policy, problem) in evidence.policies.iter_mut().zip(held) {
        if let (Some(problem), Some(change)) = (problem, policy.git_change.as_mut()) {
            change.promote = None;
            change.rollback = None;
            change.problem = Some(problem);
        }
    }
}

/// Each policy's patch directory under [`PATCHES_DIR`], in order: its
/// name, `<namespace>.<name>` for a namespaced one (a namespace has no
/// dots), with `.<kind>` added where two would share one.
pub fn patch_dirs(policies: &[PolicyRef<'_>]) -> Vec<String> {
    let plain: Vec<String> = policies
        .iter()
        .map(|p| match p.namespace {
            Some(namespace) => format!("{namespace}.{}", p.name),
            None => p.name.to_string(),
        })
        .collect();
    plain
        .iter()
        .zip(policies)
        .map(|(dir, policy)| {
            if plain.iter().filter(|other| *other == dir).count() > 1 {
                format!("{dir}.{}", policy.kind.to_ascii_lowercase())
            } else {
                dir.clone()
            }
        })
        .collect()
}

/// Whether `path` is a patch file a package may hold:
/// `patches/<dir>/promote.patch` or `…/rollback.patch`, with a plain
/// directory name (nothing a crafted name could use to leave the package).
pub fn is_patch_file(path: &str) -> bool {
    let mut parts = path.split('/');
    let (Some(top), Some(dir), Some(file), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    top == PATCHES_DIR
        && (file == PROMOTE_FILE || file == ROLLBACK_FILE)
        && !dir.is_empty()
        && dir.starts_with(|c: char| c.is_ascii_alphanumeric())
        && dir
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Where and how `policy`'s action changes in the repository `files`
/// (path relative to its root, `/`-separated → text); as
/// [`Repository::plan`], for one policy.
pub fn plan(
    files: &BTreeMap<String, String>,
    policy: &PolicyRef<'_>,
    environment_values: &[String],
    dir: &str,
) -> GitChange {
    Repository::new(files.clone()).plan(policy, None, environment_values, dir)
}

impl Repository {
    /// Where and how `policy`'s action changes in this repository.
    /// `environment_values` name this cluster's environment's values files
    /// (relative paths): where several values files set a chart's action,
    /// the one patched. The patch files are named under `patches/<dir>/`.
    /// With `soaked` (the cluster's policy, whose soak the verdict
    /// judged), Git's policy is checked to be that one: if its rules
    /// differ, no patch is made ([`GitChange::rules_differ`]).
    pub fn plan(
        &self,
        policy: &PolicyRef<'_>,
        soaked: Option<&Soaked<'_>>,
        environment_values: &[String],
        dir: &str,
    ) -> GitChange {
        self.plan_after_switch(policy, soaked, environment_values, dir, None)
    }

    /// [`Self::plan`], given the rollback.patch of the package of the
    /// switch (the `--since` package's, carried from package to package):
    /// where Git enforces the policy already and that patch still applies
    /// exactly, it is the rollback — what the promotion changed, and no
    /// more (walk46 F2: a rule Git enforced before the promotion was set
    /// to Audit too). Otherwise every action field goes to Audit, with a
    /// note saying why.
    pub fn plan_after_switch(
        &self,
        policy: &PolicyRef<'_>,
        soaked: Option<&Soaked<'_>>,
        environment_values: &[String],
        dir: &str,
        switch_rollback: Option<&str>,
    ) -> GitChange {
        let mut change = self.plan_alone(policy, soaked, environment_values, dir);
        let Some(carried) = switch_rollback else {
            return change;
        };
        if change.problem.is_some() || change.promote.is_some() || change.rollback.is_none() {
            return change;
        }
        // The switch's patch may only touch what this policy's own
        // rollback would: applied by offset, its context can fit another
        // policy's identical lines after the file was reordered
        // (verify47 V47-4: it un-enforced another policy and left this
        // one enforced).
        let own_lines = change
            .rollback
            .as_ref()
            .and_then(|own| self.applied(&own.diff).ok())
            .map(|texts| self.changed_lines(&texts))
            .unwrap_or_default();
        let carried_texts = self.applied(carried).and_then(|texts| {
            let stray: Vec<String> = self
                .changed_lines(&texts)
                .difference(&own_lines)
                .map(|(file, line)| format!("{file} line {}", line + 1))
                .collect();
            if stray.is_empty() {
                Ok(texts)
            } else {
                Err(format!(
                    "it would change {}, which this policy's own rollback here does not change: another environment's file, or another policy's",
                    stray.join(", ")
                ))
            }
        });
        match carried_texts {
            Ok(texts) => {
                let mut diff = String::new();
                for (file, text) in &texts {
                    if let Some(old) = self.text(file) {
                        diff.push_str(&diff::unified(file, old, text));
                    }
                }
                if !diff.is_empty() {
                    change.enforced_after_rollback = enforced_rules_in(&texts, policy);
                    // A binding Git had in Deny before the switch stays
                    // denying (verify49 V49-12): the policy's one rule.
                    if policy.kind == "ValidatingAdmissionPolicy" && self.binding_denies_after(&texts, policy) {
                        change.enforced_after_rollback.push(policy.name.to_string());
                    }
                    change
                        .enforced_after_rollback
                        .extend(template_enforced_rules(self, policy));
                    change.rollback = Some(PatchFile {
                        file: format!("{PATCHES_DIR}/{dir}/{ROLLBACK_FILE}"),
                        diff,
                    });
                    change.notes.push(
                        "rollback.patch is the switch's own (from the --since packages): it gives back what that promotion changed, no more".into(),
                    );
                }
            }
            Err(why) => change.notes.push(format!(
                "the rollback.patch of the switch (from the --since packages) no longer applies ({why}): this rollback.patch sets every action field to Audit"
            )),
        }
        change
    }

    /// Whether a ValidatingAdmissionPolicyBinding of `policy` in this
    /// repository, with `texts` in place of its files, still denies.
    fn binding_denies_after(
        &self,
        texts: &BTreeMap<String, String>,
        policy: &PolicyRef<'_>,
    ) -> bool {
        let denying = |value: &Value| {
            value.get("kind").and_then(Value::as_str) == Some("ValidatingAdmissionPolicyBinding")
                && value.pointer("/spec/policyName").and_then(Value::as_str) == Some(policy.name)
                && value
                    .pointer("/spec/validationActions")
                    .and_then(Value::as_array)
                    .is_some_and(|actions| actions.iter().any(|a| a == "Deny"))
        };
        self.files.iter().any(|(path, file)| {
            // The file's documents as read, or as `texts` make them (a
            // template's named from its lines, as `File::new` reads them).
            let replaced = texts.get(path);
            let text = replaced.unwrap_or(&file.text);
            let parsed;
            let docs: &[repository::Document] = match replaced {
                Some(text) => {
                    parsed = documents(text, file.template_of.is_none());
                    &parsed
                }
                None => &file.documents,
            };
            let lines = diff::lines(text);
            docs.iter().any(|d| {
                if file.template_of.is_none() {
                    return d.value.as_ref().is_some_and(denying);
                }
                let binds = d.identity.as_ref().is_some_and(|identity| {
                    identity.kind == "ValidatingAdmissionPolicyBinding"
                        && identity.policy_name.as_deref() == Some(policy.name)
                });
                let own = lines.get(d.lines.clone()).unwrap_or_default();
                // Its action from a values key: Deny unless that key reads
                // otherwise once `texts` are in (verify51 V51-1; a key that
                // cannot be read counts as Deny). A literal Deny anywhere
                // outside its expressions counts too, whatever else is
                // templated (verify52 V52-6: a templated name hid it).
                binds
                    && (own.iter().any(|line| {
                        line.contains("validationActions")
                            && line.contains("{{")
                            && self.values_key_denies(texts, line)
                    }) || own
                        .iter()
                        .any(|line| without_expressions(line).contains("Deny")))
            })
        })
    }

    /// Whether the `{{ .Values.<key> }}` a template `line` reads may say
    /// Deny once `texts` are in: true when any values file or HelmRelease
    /// `spec.values` of the repository sets the key to Deny, or none sets
    /// it. Every place counts, in any chart or environment (verify52
    /// V52-7: an environment's release set Deny over the chart's Audit):
    /// a warning too many, never one too few.
    fn values_key_denies(&self, texts: &BTreeMap<String, String>, line: &str) -> bool {
        let Some(at) = line.find(".Values.") else {
            return true;
        };
        let key: String = line[at + ".Values.".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .collect();
        let pointer: String = key.split('.').map(|k| format!("/{k}")).collect();
        let mut set = false;
        for (path, file) in &self.files {
            let text = texts.get(path).map_or(file.text.as_str(), String::as_str);
            if file.template_of.is_some() {
                continue;
            }
            let values_file = is_values_file(path);
            if !values_file && !text.contains("HelmRelease") {
                continue;
            }
            for value in documents(text, true).into_iter().filter_map(|d| d.value) {
                // A HelmRelease by its kind, in a file of any name.
                let found = if value.get("kind").and_then(Value::as_str) == Some("HelmRelease") {
                    value.pointer(&format!("/spec/values{pointer}"))
                } else if values_file {
                    value.pointer(&pointer)
                } else {
                    None
                };
                if let Some(found) = found {
                    if found.to_string().contains("Deny") {
                        return true;
                    }
                    set = true;
                }
            }
        }
        !set
    }

    /// The lines (file, index) that `texts` change of this repository's
    /// files ([`diff::changed_lines`]).
    fn changed_lines(&self, texts: &BTreeMap<String, String>) -> BTreeSet<(String, usize)> {
        texts
            .iter()
            .filter_map(|(file, new)| Some((file, self.text(file)?, new)))
            .flat_map(|(file, old, new)| {
                diff::changed_lines(old, new)
                    .into_iter()
                    .map(move |line| (file.clone(), line))
            })
            .collect()
    }

    /// The texts `diff` — unified diffs of one or more files under `diff
    /// --git` lines, as this module writes them — makes of this
    /// repository's files, when every hunk applies exactly.
    fn applied(&self, diff: &str) -> Result<BTreeMap<String, String>, String> {
        let mut segments: Vec<(String, String)> = Vec::new();
        for line in diff.split_inclusive('\n') {
            if let Some(header) = line.strip_prefix("diff --git a/") {
                let path = header
                    .split_once(" b/")
                    .map(|(path, _)| path.to_string())
                    .ok_or_else(|| {
                        format!("a diff header without its b/ path: {}", line.trim_end())
                    })?;
                segments.push((path, String::new()));
            } else if let Some((_, body)) = segments.last_mut() {
                body.push_str(line);
            } else {
                return Err("text before the first diff --git line".into());
            }
        }
        let mut texts = BTreeMap::new();
        for (path, body) in &segments {
            let text = self
                .text(path)
                .ok_or_else(|| format!("{path} is not in the checkout"))?;
            let patch = diffy::Patch::from_str(body).map_err(|e| format!("{path}: {e}"))?;
            let applied = diffy::apply(text, &patch).map_err(|e| format!("{path}: {e}"))?;
            texts.insert(path.clone(), applied);
        }
        if texts.is_empty() {
            return Err("it changes no file".into());
        }
        Ok(texts)
    }

    fn plan_alone(
        &self,
        policy: &PolicyRef<'_>,
        soaked: Option<&Soaked<'_>>,
        environment_values: &[String],
        dir: &str,
    ) -> GitChange {
        // A ValidatingAdmissionPolicy's bindings in this cluster, by name.
        let cluster_bindings: Option<BTreeSet<&str>> = soaked
            .filter(|_| policy.kind == "ValidatingAdmissionPolicy")
            .map(|soaked| {
                soaked
                    .bindings
                    .iter()
                    .filter(|b| {
                        b.pointer("/spec/policyName").and_then(Value::as_str) == Some(policy.name)
                    })
                    .filter_map(|b| b.pointer("/metadata/name")?.as_str())
                    .collect()
            });
        let mut change = plan_inner(
            self,
            policy,
            environment_values,
            dir,
            cluster_bindings.as_ref(),
        )
        .unwrap_or_else(|problem| GitChange {
            problem: Some(problem),
            ..GitChange::default()
        });
        change.git_files = self
            .files
            .iter()
            .filter(|(_, file)| {
                file.documents.iter().any(|d| {
                    d.identity
                        .as_ref()
                        .is_some_and(|identity| role(policy, identity).is_some())
                })
            })
            .map(|(path, _)| path.clone())
            .collect();
        match soaked.map(|soaked| soaked::check(self, policy, soaked)) {
            None | Some(soaked::SoakCheck::Same) => {}
            Some(soaked::SoakCheck::Unchecked(note)) => {
                if change.problem.is_none() {
                    change.notes.push(note);
                }
            }
            // No promotion of rules no one compared; where Git enforces
            // already, its rollback (to Audit) stands.
            Some(soaked::SoakCheck::Unreadable(problem)) => {
                if change.problem.is_none() && change.promote.is_some() {
                    change.promote = None;
                    change.rollback = None;
                    change.problem = Some(problem);
                } else if change.problem.is_none() {
                    change.notes.push(problem);
                }
            }
            // Enforcing Git's version would enforce rules no soak judged:
            // no patch either way (the rollback is made against the
            // promoted file), and this problem first — a hand change of
            // the action would enforce them too.
            // Where no patch could be planned (a kustomize patch sets the
            // action, several copies), the document compared may be no
            // policy at all (an overlay's strategic-merge file: verify48
            // V48-14): that problem stands, not "a different version".
            Some(soaked::SoakCheck::Differs(_)) if change.problem.is_some() => {}
            Some(soaked::SoakCheck::Differs(mut problem)) => {
                // An overlay's patch of the rules makes the base differ
                // from what the cluster runs (its build) for good: said,
                // lest a team wait for a reconciliation that changes
                // nothing (verify47 V47-8).
                if let Some(overlays) =
                    kustomize_patches_of(self, &[policy.name], &[policy.kind], None, false, true)
                {
                    problem.push_str(&format!(
                        "; {} patch the policy, and polscan compares Git's base, not what they build: if their patch is the difference, Git is not ahead — switch the action by hand, or move it into the overlay",
                        overlays.join(", ")
                    ));
                }
                change.promote = None;
                change.rollback = None;
                change.problem = Some(problem);
                change.rules_differ = true;
            }
        }
        change
    }
}

fn plan_inner(
    repo: &Repository,
    policy: &PolicyRef<'_>,
    environment_values: &[String],
    dir: &str,
    cluster_bindings: Option<&BTreeSet<&str>>,
) -> Result<GitChange, String> {
    let located = locate(repo, policy, environment_values, cluster_bindings)?;
    for setting in &located.settings {
        // polscan edits YAML lines; a JSON file's would not read back
        // (verify57 V57-8: the reason said only that).
        if setting.file.ends_with(".json") {
            return Err(format!(
                "{} is JSON, which polscan does not edit (it edits YAML lines): switch {} there by hand",
                setting.file,
                setting.describe()
            ));
        }
        if let Some(why) = repo.source_ignored(&setting.file) {
            return Err(format!(
                "{} is not in what Flux delivers: {why}, so the cluster's policy comes from elsewhere, or from no file here; a patch of it would change nothing",
                setting.file
            ));
        }
        // A namespace written in the file, which a build may replace: the
        // copies it makes elsewhere are not found under this policy's
        // namespace, nor held back with it (verify58 V58-1).
        let written_namespace = repo.files.get(&setting.file).is_some_and(|file| {
            file.documents.iter().any(|d| {
                d.identity.as_ref().is_some_and(|identity| {
                    identity.kind == policy.kind
                        && identity.name == policy.name
                        && identity
                            .namespace
                            .as_deref()
                            .is_some_and(|ns| !ns.contains("{{"))
                })
            })
        });
        let copies: Vec<String> = renamers_of(repo, &setting.file)
            .iter()
            .filter(|r| {
                r.renames()
                    || (written_namespace
                        && !r.namespace.is_empty()
                        && policy.namespace != Some(r.namespace.as_str()))
            })
            .map(|r| format!("as {} by {}", r.copy_of(policy), r.describe()))
            .collect();
        // A build renaming or moving it by a patch, a transformer or a
        // replacement (verify59 V59-1): what it makes is not followed.
        let copies: Vec<String> = copies
            .into_iter()
            .chain(
                metadata_changers(repo, &setting.file)
                    .into_iter()
                    .map(|how| format!("perhaps, by {how}")),
            )
            .collect();
        if !copies.is_empty() {
            return Err(format!(
                "{} is also built as another policy ({}): a patch of it switches that policy too, which this package does not judge with this one; switch the action where each copy is built (a kustomize patch in its overlay), or by hand",
                setting.file,
                copies.join("; ")
            ));
        }
        // Only what the planner reads, or knows to leave the policy alone,
        // may build the file: anything else could rename it or set its
        // action, unseen here.
        let unfollowed = unfollowed_builds(repo, &setting.file);
        if !unfollowed.is_empty() {
            return Err(format!(
                "{} is built by what polscan does not follow ({}): the cluster's policy may differ from the file (another name, another action), so no patch is made; switch the action where the build makes it, or by hand, and check the result with the build's own tool (kustomize build, argocd app manifests)",
                setting.file,
                unfollowed.join("; ")
            ));
        }
        if let Some(path) = reshaping_template_patch(repo, &setting.file) {
            return Err(format!(
                "{} is applied by {path}, whose templatePatch reshapes each Application's source (its kustomize, helm, directory, plugin or path): what each cluster builds is not read here, so no patch is made; switch the action by hand",
                setting.file
            ));
        }
        if let Some(kustomization) = not_built_by_its_kustomization(repo, &setting.file) {
            return Err(format!(
                "{} is not built: {kustomization}, so the cluster's policy comes from elsewhere, or from no file here; a patch of it would change nothing",
                setting.file
            ));
        }
        if let Some(remote) = remote_bases(repo, &setting.file).first().filter(|_| {
            longest_root(&setting.file, &repo.charts).is_none() && !is_values_file(&setting.file)
        }) {
            return Err(format!(
                "{remote} builds a remote kustomize base polscan does not read: the cluster's policy may be built from it (another revision, another copy), not from {}; a patch here may switch another environment's copy — switch the action where this cluster's copy is built, or by hand",
                setting.file
            ));
        }
        if let Some(other) = other_repository_delivery(repo, &setting.file) {
            return Err(format!(
                "{other}, {}: where it is the cluster's, its policy comes from that repository's copy, and a patch of {} here does not switch it (it switches the clusters reading this one) — switch the action in that repository, or by hand",
                if other.contains("(computed per cluster)") {
                    "which may not be this checkout"
                } else {
                    "not from this checkout"
                },
                setting.file
            ));
        }
        if let Some(why) = action_left_alone(repo, policy, &setting.file) {
            return Err(format!(
                "{why}: a Git change of the action does not reach the cluster, so no patch is made; switch it in the cluster (the kubectl command), or remove that setting first"
            ));
        }
        if let Some(Delivery::Elsewhere(applied)) = delivery_of(repo, &setting.file) {
            return Err(format!(
                "{} is applied by none of the Flux Kustomizations and Argo CD Applications in the checkout (they apply {}), so the cluster's policy comes from elsewhere, or from no file here; a patch of it would change nothing",
                setting.file,
                applied.join(", ")
            ));
        }
    }
    let (promoted, promote_diff) = change(repo, &located, Target::Enforce)?;
    let rollback_diff = if promote_diff.is_empty() {
        // Git enforces already: back to Audit, every action field.
        let (_, diff) = change(repo, &located, Target::Audit)?;
        diff
    } else {
        // Exactly what the promotion changed, back as Git had it: a rule
        // Git enforced before stays enforced, `[Audit, Warn]` comes back
        // whole (walk44: the rollback un-enforced a rule the promotion
        // never touched).
        let mut diff = String::new();
        for (file, edited) in &promoted {
            if let Some(text) = repo.text(file) {
                let radius =
                    naming_radius(repo, file, diff::changed_lines(text, edited).into_iter());
                diff.push_str(&diff::unified_around(file, edited, text, radius));
            }
        }
        diff
    };
    let mut notes = located.notes;
    notes.extend(chart_version_notes(repo, &located.settings));
    notes.extend(delivery_notes(repo, &located.settings));
    // A kustomize base several overlays include: the patch switches the
    // policy in each of their clusters, not only in this one (verify46 F6).
    let mut shared_source = located.templated;
    // An app of apps rendered once per cluster (verify65 V65-3): each
    // render applying the file is another cluster's.
    for setting in &located.settings {
        // A chart's template nothing renders from Git here: the cluster
        // runs a published chart, if any (verify66 V66-5).
        // Some of its releases from a Helm repository (verify67 V67-4).
        // Any file of the chart but its values: a template, or one its
        // templates read (`.Files.Glob`: verify68 V68-1).
        // A file Helm uses, not one a plain delivery applies from a folder
        // that happens to be under a chart (a repository whose root is a
        // chart).
        // Where a release installs the chart from a Helm repository, its
        // notes stand whatever else applies the file (verify75 V75-1).
        // ... where the chart uses the file (verify76: not raw files a
        // plain delivery applies and no template reads).
        let chart_file = longest_root(&setting.file, &repo.charts).filter(|root| {
            !is_values_file(&setting.file)
                && (!applied_plain(repo, &setting.file)
                    || (!published_releases(repo, root).is_empty()
                        && chart_uses(repo, root, &setting.file)))
        });
        if let Some(root) = chart_file.filter(|root| rendered_from_git(repo, root)) {
            let published = published_releases(repo, root);
            if !published.is_empty() {
                shared_source = true;
                notes.push(format!(
                    "the chart {1} is also installed from a Helm repository (by {0}): those clusters get the patch only once a chart version built from it is published and their releases move to it",
                    published.join(", "),
                    if root.is_empty() { "." } else { root }
                ));
            }
        }
        if let Some(root) = chart_file.filter(|root| !rendered_from_git(repo, root)) {
            notes.push(format!(
                "nothing in the checkout renders the chart {} from Git (no HelmRelease of its folder from a GitRepository, Argo CD Application of its path or parent chart): a release of it from a Helm repository or an OCI artifact runs the published chart, which the patch reaches only once a version built from it is published and the release moves to it",
                if root.is_empty() { "." } else { root }
            ));
        }
        // Rendered with the chart's own values, for want of the root
        // delivery (verify65 V65-6): it may give others.
        for path in rendered_without_root(repo, &setting.file) {
            notes.push(format!(
                "{path} is read as rendered with its chart's values.yaml (and the values files beside it): nothing in the checkout renders that chart, and what does may give it other values (another repository or revision for {}) — check the root that renders it",
                setting.file
            ));
        }
        for (path, count) in rendered_fanout(repo, &setting.file) {
            shared_source = true;
            notes.push(format!(
                "{path} renders a delivery of {} once per values set ({count} of them: one per cluster?): the patch switches the policy wherever any of them is applied",
                setting.file
            ));
        }
    }
    for file in promoted.keys() {
        let overlays = including_kustomizations(repo, file);
        if overlays.len() > 1 {
            shared_source = true;
            // An ApplicationSet counts twice (it fans out), named once
            // (verify61 V61-10).
            let named: Vec<&String> = overlays
                .iter()
                .filter(|o| {
                    !overlays.iter().any(|other| {
                        *other == format!("{o}{EACH_APPLICATION}")
                            || *other == format!("{o}{EACH_COMPUTED}")
                    })
                })
                .collect();
            notes.push(format!(
                "{file} is built by each of {}: the patch switches the policy wherever any of them is applied",
                named
                    .iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // Flux's kustomize-controller runs no Helm (verify73 V73-7): a
        // Flux Kustomization whose build inflates the chart holding the
        // file fails.
        if longest_root(file, &repo.charts).is_some() {
            for (path, entry) in &repo.files {
                for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
                    let flux = api_version(value).starts_with("kustomize.toolkit.fluxcd.io/");
                    let folder = value.pointer("/spec/path").and_then(Value::as_str);
                    if let (true, Some(folder)) = (flux, folder) {
                        let folder = joined("", folder);
                        if flux_inflates(repo, &folder, file) {
                            notes.push(format!(
                                "{path} builds {} through kustomize helmCharts, which Flux's kustomize-controller does not run (no --enable-helm): that build fails, and applies neither the policy nor the patch",
                                if folder.is_empty() { "." } else { folder.as_str() }
                            ));
                        }
                    }
                }
            }
        }
        // Reached through a link too (verify69 V69-2, verify70 V70-1,
        // V70-2, verify71 V71-2): another folder's copy, for Argo CD and
        // kustomize.
        let linked = link_reaches(repo, file);
        if !linked.is_empty() {
            shared_source = true;
            notes.push(format!(
                "{file} is also applied as {} through symbolic links: Argo CD, kustomize and Helm follow a link inside the repository (Flux's artifacts leave links out), so wherever that is applied the patch switches the policy too",
                linked.join(", ")
            ));
        }
    }
    if promote_diff.is_empty() {
        notes.push("Git has the policy in Enforce already: no promote.patch".into());
    }
    // Nothing here applies it: another repository may, or nothing
    // (verify58 V58-2, as V57-7 for a chart).
    let undelivered: Vec<&str> = located
        .settings
        .iter()
        .filter(|s| delivery_of(repo, &s.file) == Some(Delivery::NothingHere))
        .map(|s| s.file.as_str())
        .collect();
    if !undelivered.is_empty() {
        notes.push(format!(
            "no Flux Kustomization or Argo CD Application is in the checkout to apply {}: check what applies it to this cluster (another repository?) before applying the patch",
            undelivered.join(", ")
        ));
    }
    let patch = |name: &str, diff: String| {
        (!diff.is_empty()).then(|| PatchFile {
            file: format!("{PATCHES_DIR}/{dir}/{name}"),
            diff,
        })
    };
    let rollback = patch(ROLLBACK_FILE, rollback_diff);
    let promoting = !promote_diff.is_empty();
    if rollback.is_none() && promote_diff.is_empty() {
        return Err("the action fields found need no change either way".into());
    }
    Ok(GitChange {
        locations: located.settings.iter().map(Setting::describe).collect(),
        promote: patch(PROMOTE_FILE, promote_diff),
        rollback,
        notes,
        problem: None,
        rules_differ: false,
        git_files: Vec::new(),
        also_switches: located.readers,
        shared_source,
        // The reverse of the promotion leaves Git as it is now.
        enforced_after_rollback: if promoting {
            let mut kept = located.git_enforced.clone();
            kept.extend(template_enforced_rules(repo, policy));
            if policy.kind == "ValidatingAdmissionPolicy"
                && repo.binding_denies_after(&BTreeMap::new(), policy)
            {
                kept.push(policy.name.to_string());
            }
            kept
        } else {
            Vec::new()
        },
        git_enforced_rules: located.git_enforced,
    })
}

/// What [`kustomization_tops`] finds.
struct KustomizationTops {
    /// The top kustomization files building the file.
    found: Vec<String>,
    /// Each kustomization file's folder and targets.
    includes: BTreeMap<String, (String, Vec<String>)>,
    /// The folders building the file.
    building: BTreeSet<String>,
}

/// The first half of [`including_kustomizations`]: the top kustomization
/// files building `file`, with each kustomization file's folder and
/// targets, and the folders building it.
fn kustomization_tops(repo: &Repository, file: &str) -> KustomizationTops {
    let folder_of = |path: &str| path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    let own = folder_of(file);
    let holds = |target: &str, inner: &str| {
        target == inner || target.is_empty() || inner.starts_with(&format!("{target}/"))
    };
    // Each kustomization.yaml's folder and what it includes.
    let mut includes: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (path, entry) in &repo.files {
        if !is_kustomization_file(path) {
            continue;
        }
        let dir = folder_of(path);
        let targets = kustomization_targets(entry, &dir)
            .into_iter()
            .filter(|target| !target.is_empty())
            .collect();
        includes.insert(path.clone(), (dir, targets));
    }
    // The folders whose kustomization builds `file`, at any depth.
    let mut building: BTreeSet<String> = BTreeSet::new();
    let mut reached: BTreeSet<String> = BTreeSet::new();
    building.insert(own.clone());
    loop {
        let before = reached.len();
        for (path, (dir, targets)) in &includes {
            let reaches = targets.iter().any(|target| {
                (target != dir && holds(target, file) && dir != &own)
                    || building
                        .iter()
                        .any(|folder| target == folder && target != dir)
            });
            if reaches && reached.insert(path.clone()) {
                building.insert(dir.clone());
            }
        }
        if reached.len() == before {
            break;
        }
    }
    let found: Vec<String> = reached
        .iter()
        .filter(|path| {
            let Some((dir, _)) = includes.get(*path) else {
                return false;
            };
            // Not itself included by another that builds the file.
            !reached.iter().any(|other| {
                other != *path
                    && includes
                        .get(other)
                        .is_some_and(|(_, targets)| targets.iter().any(|t| t == dir))
            })
        })
        .cloned()
        .collect();
    KustomizationTops {
        found,
        includes,
        building,
    }
}

/// The kustomizations that build `file` at the top: a kustomization.yaml
/// whose `resources`, `bases` or `components` reach it (the file, a folder
/// holding it, or a kustomization that reaches it, at any depth) and that
/// no other such kustomization includes, its own folder's aside; and each
/// Flux Kustomization whose `spec.path` holds it or is one of those
/// folders. The overlays a base feeds, however deep (verify52 V52-2: a
/// base reached through a common folder, `bases:` or a Component).
fn including_kustomizations(repo: &Repository, file: &str) -> Vec<String> {
    let values = |entry: &repository::File| -> Vec<Value> {
        entry
            .documents
            .iter()
            .filter_map(|document| document.value.clone())
            .collect()
    };
    let KustomizationTops {
        mut found,
        includes,
        building,
    } = kustomization_tops(repo, file);
    // A Flux Kustomization builds its `spec.path` from the repository's
    // root (verify50 V50-7: two clusters building one plain folder), or
    // the kustomization.yaml there (verify51 V51-3); an Argo CD
    // Application (or ApplicationSet) its sources' `path` (verify53
    // V53-2). Each applies what it builds: where that is a top
    // kustomization already counted, it stands for it, not beside it
    // (V53-1: one cluster's Flux Kustomization of its overlay was two).
    for (path, entry) in &repo.files {
        if includes.contains_key(path) {
            continue;
        }
        for value in values(entry) {
            let flux = value.get("kind").and_then(Value::as_str) == Some("Kustomization")
                && value
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"));
            let argo = value
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("argoproj.io/"));
            let mut paths: Vec<String> = Vec::new();
            if flux {
                let spec_path = value.pointer("/spec/path").and_then(Value::as_str);
                paths.extend(spec_path.map(str::to_string));
                // Its spec.components, relative to its path, build into
                // it too (verify54 V54-6).
                let base = joined("", spec_path.unwrap_or(""));
                paths.extend(
                    value
                        .pointer("/spec/components")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|component| joined(&base, component)),
                );
            }
            if argo {
                paths.extend(
                    argo_sources(&value)
                        .into_iter()
                        .filter(|source| source.get("chart").is_none())
                        .filter_map(|source| source.get("path").and_then(Value::as_str))
                        .map(str::to_string),
                );
            }
            // A HelmRelease of a chart built from Git renders its folder
            // (verify66 V66-3: prod's and staging's releases of one
            // chart).
            if value.get("kind").and_then(Value::as_str) == Some("HelmRelease")
                && value
                    .pointer("/spec/chart/spec/sourceRef/kind")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind != "HelmRepository")
            {
                paths.extend(
                    value
                        .pointer("/spec/chart/spec/chart")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                );
            }
            for spec_path in paths {
                let target = joined("", &spec_path);
                // An ApplicationSet's templated path: the folders its
                // generator gives, where they can be read (verify68
                // V68-2); else any folder (verify54 V54-3).
                let generated: Option<usize> = (spec_path.contains("{{"))
                    .then(|| generated_paths(repo, &value, &spec_path))
                    .flatten()
                    .map(|paths| {
                        paths
                            .iter()
                            .filter(|p| folder_builds(repo, &joined("", p), file))
                            .count()
                    });
                if generated == Some(0) {
                    continue;
                }
                // One left computed may be any folder its fixed start
                // holds (verify72 V72-4: `apps/{{x}}` holds no policies/).
                let templated = spec_path.contains("{{") && computed_may_hold(repo, &target, file);
                // A folder with a kustomization file builds what that
                // lists, not every file under it (verify57 V57-8).
                if !(templated || folder_builds(repo, &target, file) || building.contains(&target))
                {
                    continue;
                }
                found.retain(|top| includes.get(top).is_none_or(|(dir, _)| *dir != target));
                // Each delivery once, by its document: two in one file
                // (prod's and staging's Applications) are two (verify66
                // V66-2).
                let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
                let name = value
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                // A delivery file several overlays build (one Application
                // in argocd/base for prod and staging: verify67 V67-1) is
                // one delivery per overlay.
                let via = kustomization_tops(repo, path).found;
                if via.len() > 1 {
                    found.extend(
                        via.iter().map(|top| {
                            format!("{path}{DOCUMENT_MARK}{kind} {name}, through {top}")
                        }),
                    );
                } else {
                    found.push(format!("{path}{DOCUMENT_MARK}{kind} {name}"));
                }
                // An ApplicationSet applies it once per Application it
                // generates: several.
                if kind == "ApplicationSet" && generated.is_none_or(|n| n > 1) {
                    // A path left computed may give no folder building it
                    // (a selector, a generator's own template: verify76).
                    found.push(if templated && generated.is_none() {
                        format!("{path}{EACH_COMPUTED}")
                    } else {
                        format!("{path}{EACH_APPLICATION}")
                    });
                }
            }
        }
    }
    found.dedup();
    // A file's delivery is named by its file, or with its kind and name
    // where the file holds several.
    let marked: Vec<String> = found.clone();
    found
        .into_iter()
        .map(|entry| match entry.split_once(DOCUMENT_MARK) {
            Some((path, document)) => {
                let several = marked
                    .iter()
                    .filter(|other| {
                        other
                            .split_once(DOCUMENT_MARK)
                            .is_some_and(|(p, _)| p == path)
                    })
                    .count()
                    > 1;
                if several {
                    format!("{path} ({document})")
                } else {
                    path.to_string()
                }
            }
            None => entry,
        })
        .collect()
}

/// Separates a delivery's file from its document in
/// [`including_kustomizations`]' working list.
const DOCUMENT_MARK: char = '\u{0}';

/// The note a patch of a chart's files (or of a values file a release
/// lists) needs where a Flux HelmRelease builds the chart from a
/// GitRepository or Bucket with the default `reconcileStrategy:
/// ChartVersion`: Flux makes no new chart artifact until Chart.yaml's
/// `version` changes (source-controller's HelmChart docs), so the patch
/// alone reaches no cluster (verify55 V55-1). One note per chart.
fn chart_version_notes(repo: &Repository, settings: &[Setting]) -> Vec<String> {
    let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for setting in settings {
        let in_release = setting.check.as_ref().is_some_and(|c| {
            repo.files
                .get(&setting.file)
                .and_then(|f| f.documents.get(c.document))
                .is_some_and(is_helm_release)
        });
        if in_release {
            continue;
        }
        let own_chart = longest_root(&setting.file, &repo.charts);
        let packaging: Vec<String> = own_chart
            .map(|root| {
                let mut charts = vec![root.to_string()];
                charts.extend(parent_charts(repo, root));
                charts
            })
            .unwrap_or_default();
        for (path, file) in &repo.files {
            for value in file
                .documents
                .iter()
                .filter(|d| is_helm_release(d))
                .filter_map(|d| d.value.as_ref())
            {
                let spec = value.pointer("/spec/chart/spec");
                let from_source = spec
                    .and_then(|s| s.pointer("/sourceRef/kind"))
                    .and_then(Value::as_str)
                    .is_some_and(|kind| matches!(kind, "GitRepository" | "Bucket"));
                let by_version = spec
                    .and_then(|s| s.get("reconcileStrategy"))
                    .and_then(Value::as_str)
                    .is_none_or(|strategy| strategy != "Revision");
                let Some(chart) = spec.and_then(|s| s.get("chart")).and_then(Value::as_str) else {
                    continue;
                };
                if !from_source || !by_version {
                    continue;
                }
                let chart = joined("", chart);
                let lists = listed_values_files(value)
                    .iter()
                    .any(|f| same_file(f, &setting.file));
                if packaging.contains(&chart) || lists {
                    let entry = notes.entry(chart).or_default();
                    if !entry.contains(path) {
                        entry.push(path.clone());
                    }
                }
            }
        }
    }
    notes
        .into_iter()
        .map(|(chart, releases)| {
            let chart_file = if chart.is_empty() {
                "Chart.yaml".to_string()
            } else {
                format!("{chart}/Chart.yaml")
            };
            format!(
                "bump its version: Flux builds the chart {} from Git again only when the `version` in {chart_file} changes ({}: reconcileStrategy ChartVersion, the default): change it in the same commit as the patch (the rollback too), or set reconcileStrategy: Revision; without either, the patch reaches no cluster",
                if chart.is_empty() { "." } else { chart.as_str() },
                releases.join(", ")
            )
        })
        .collect()
}

/// Whether `file` sits in a test's folder: its own folder or the one
/// above holds a Kyverno CLI test (`kind: Test` of `cli.kyverno.io`, or a
/// `kyverno-test.yaml`) or a Chainsaw test (`chainsaw-test.yaml`, or
/// `kind: Test` of `chainsaw.kyverno.io`).
fn in_a_test_folder(repo: &Repository, file: &str) -> bool {
    let folder = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    let parent = folder.rsplit_once('/').map_or("", |(dir, _)| dir);
    let is_test = |path: &str, text: &str| {
        let name = path.rsplit('/').next().unwrap_or(path);
        matches!(name, "kyverno-test.yaml" | "chainsaw-test.yaml")
            || ((text.contains("cli.kyverno.io/") || text.contains("chainsaw.kyverno.io/"))
                && text.lines().any(|line| line.trim() == "kind: Test"))
    };
    // The folder, and the one above unless that is the checkout's root.
    let folders: Vec<&str> = if folder.is_empty() {
        vec![""]
    } else if parent.is_empty() {
        vec![folder]
    } else {
        vec![folder, parent]
    };
    repo.files.iter().any(|(path, other)| {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        folders.contains(&dir) && is_test(path, &other.text)
    })
}

/// Flux's annotations that keep it from updating an object: `reconcile:
/// disabled` (never applied again), `ssa: IfNotPresent` (created, never
/// updated) and `ssa: Ignore` (skipped) — fluxcd/kustomize-controller's
/// `kustomize.toolkit.fluxcd.io/` annotations.
const FLUX_LEAVES_ALONE: [(&str, &str); 3] = [
    ("kustomize.toolkit.fluxcd.io/reconcile", "disabled"),
    ("kustomize.toolkit.fluxcd.io/ssa", "IfNotPresent"),
    ("kustomize.toolkit.fluxcd.io/ssa", "Ignore"),
];

/// `key: value` of the first [`FLUX_LEAVES_ALONE`] marker `value` (parsed
/// YAML) gives anywhere: a key with its value (any case), or a JSON 6902
/// op whose `path` ends in the key (`~1` for its `/`) with that value.
fn flux_marker_in(value: &Value) -> Option<String> {
    let matches = |found: &Value, wanted: &str| {
        found
            .as_str()
            .is_some_and(|text| text.eq_ignore_ascii_case(wanted))
    };
    match value {
        Value::Object(map) => {
            let direct = FLUX_LEAVES_ALONE.iter().find(|(key, wanted)| {
                map.iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(key) && matches(v, wanted))
            });
            let by_op = FLUX_LEAVES_ALONE.iter().find(|(key, wanted)| {
                let pointer = format!("/{}", key.replace('/', "~1"));
                map.get("path").and_then(Value::as_str).is_some_and(|path| {
                    path.to_ascii_lowercase()
                        .ends_with(&pointer.to_ascii_lowercase())
                }) && map.get("value").is_some_and(|v| matches(v, wanted))
            });
            direct
                .or(by_op)
                .map(|(key, wanted)| format!("{key}: {wanted}"))
                .or_else(|| map.values().find_map(flux_marker_in))
        }
        Value::Array(items) => items.iter().find_map(flux_marker_in),
        _ => None,
    }
}

/// Why a delivery would not apply a change of the action in `file` (the
/// policy's document, or its binding's), verify80 V80-1: Flux leaves the
/// object alone ([`FLUX_LEAVES_ALONE`], on the document, in a
/// kustomization's `commonAnnotations` or a Flux Kustomization's
/// `commonMetadata` that builds it), or an Argo CD Application (or
/// ApplicationSet, or argocd-cm's `resource.customizations`) ignores
/// differences of the field (`ignoreDifferences` selecting the kind and
/// name, by a JSON pointer holding the action, any `jqPathExpressions`,
/// or `managedFieldsManagers`): the commit changes Git, not the cluster.
fn action_left_alone(repo: &Repository, policy: &PolicyRef<'_>, file: &str) -> Option<String> {
    let vap = policy.kind == "ValidatingAdmissionPolicy";
    let kinds: &[&str] = if vap {
        &["ValidatingAdmissionPolicyBinding"]
    } else {
        std::slice::from_ref(&policy.kind)
    };
    // As fluxcd/pkg/ssa reads them: in the labels or the annotations,
    // the value compared without case (verify81: `Disabled`, a label).
    let flux_annotation = |metadata: &Value| {
        FLUX_LEAVES_ALONE.iter().find_map(|(key, value)| {
            ["labels", "annotations"]
                .iter()
                .filter_map(|field| metadata.get(*field)?.get(*key)?.as_str())
                .any(|found| found.eq_ignore_ascii_case(value))
                .then(|| format!("{key}: {value}"))
        })
    };
    let text_annotation = |text: &str| {
        FLUX_LEAVES_ALONE.iter().find_map(|(key, value)| {
            text.lines()
                .any(|line| {
                    line.trim()
                        .strip_prefix(key)
                        .and_then(|rest| rest.trim_start_matches(['"', '\'']).strip_prefix(':'))
                        .is_some_and(|v| {
                            unquote(v.split(" #").next().unwrap_or(v)).eq_ignore_ascii_case(value)
                        })
                })
                .then(|| format!("{key}: {value}"))
        })
    };
    let own = repo.files.get(file)?;
    for document in &own.documents {
        let ours = document.identity.as_ref().is_some_and(|identity| {
            kinds.contains(&identity.kind.as_str())
                && if vap {
                    identity.policy_name.as_deref() == Some(policy.name)
                } else {
                    identity.name == policy.name
                }
        });
        if !ours {
            continue;
        }
        let found = match &document.value {
            Some(value) => value.get("metadata").and_then(flux_annotation),
            // A template, not YAML until rendered: its text.
            None => text_annotation(&own.text),
        };
        if let Some(found) = found {
            return Some(format!(
                "{file} carries {found}, so Flux does not update the object"
            ));
        }
    }
    // A kustomization or Flux Kustomization building the file that gives
    // the marker: by commonAnnotations, commonLabels, labels,
    // commonMetadata, or a patch, inline or in a file, in any YAML form
    // (verify81, verify82: quoted keys, flow maps, `pairs`, JSON 6902
    // paths with `~1` were missed). Read from the parsed content: a key
    // with its value (any case), or a JSON 6902 op whose path ends in the
    // key; not a key and a value apart (verify83: `reconcile: enabled`
    // beside `prune: disabled`). A Flux Kustomization's own metadata is
    // not what it builds; generatorOptions reach only generated objects.
    let names_here: Vec<&str> = if vap {
        own.documents
            .iter()
            .filter_map(|d| d.identity.as_ref())
            .filter(|i| i.policy_name.as_deref() == Some(policy.name))
            .map(|i| i.name.as_str())
            .collect()
    } else {
        vec![policy.name]
    };
    for (path, other) in &repo.files {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let values: Vec<&Value> = other
            .documents
            .iter()
            .filter_map(|d| d.value.as_ref())
            .collect();
        // What it gives what it builds, and the documents whose patches
        // count.
        let mut searched: Vec<Value> = Vec::new();
        let mut patching: Vec<&Value> = Vec::new();
        if is_kustomization_file(path) {
            if !kustomization_applies_to(repo, path, file) {
                continue;
            }
            for value in &values {
                let mut rest = (*value).clone();
                if let Some(map) = rest.as_object_mut() {
                    for key in [
                        "patches",
                        "patchesJson6902",
                        "patchesStrategicMerge",
                        "generatorOptions",
                        "configMapGenerator",
                        "secretGenerator",
                    ] {
                        map.remove(key);
                    }
                }
                searched.push(rest);
                patching.push(value);
            }
        } else {
            for value in &values {
                let flux = value.get("kind").and_then(Value::as_str) == Some("Kustomization")
                    && value
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .is_some_and(|api| api.starts_with("kustomize.toolkit.fluxcd.io/"));
                let builds = flux
                    && value
                        .pointer("/spec/path")
                        .and_then(Value::as_str)
                        .is_none_or(|built| folder_builds(repo, &joined("", built), file));
                if builds {
                    if let Some(part) = value.pointer("/spec/commonMetadata") {
                        searched.push(part.clone());
                    }
                    patching.push(value);
                }
            }
            if patching.is_empty() {
                continue;
            }
        }
        // Its patches that may select the policy: by their target's kind
        // and name (kustomize's anchored patterns), else by the body's own
        // kind and name (verify83: a Namespace's body).
        for value in &patching {
            for (base, entry) in patch_entries(value, folder) {
                let target = entry.get("target");
                let targeted =
                    target.is_none_or(|target| target_selects(target, &names_here, kinds));
                if !targeted {
                    continue;
                }
                let Ok(Some(text)) = patch_body(repo, &base, entry) else {
                    continue;
                };
                for body in documents(&text, true).into_iter().filter_map(|d| d.value) {
                    let own_kind = body.get("kind").and_then(Value::as_str);
                    let own_name = body.pointer("/metadata/name").and_then(Value::as_str);
                    let selects = target.is_some()
                        || (own_kind.is_none_or(|kind| kinds.contains(&kind))
                            && own_name.is_none_or(|name| names_here.contains(&name)));
                    if selects {
                        searched.push(body);
                    }
                }
            }
        }
        if let Some(found) = searched.iter().find_map(flux_marker_in) {
            return Some(format!(
                "{path} gives what it builds, {file} among them, {found}, so Flux does not update the object"
            ));
        }
    }
    // Argo CD's ignoreDifferences.
    let selects = |entry: &Value| {
        let text = |key: &str| entry.get(key).and_then(Value::as_str);
        // Argo CD matches them as globs (glob.Match): one with a `*` or
        // `?` may select the policy (verify82 G1).
        let glob = |pattern: &str| pattern.contains(['*', '?', '[']);
        text("kind").is_none_or(|kind| glob(kind) || kinds.contains(&kind))
            && text("name").is_none_or(|name| glob(name) || names_here.contains(&name))
    };
    let covers = |entry: &Value| {
        let listed = |key: &str| {
            entry
                .get(key)
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
        };
        listed("jsonPointers")
            .iter()
            .filter_map(Value::as_str)
            .any(|pointer| {
                let dotted = dotted_path(pointer);
                dotted.is_empty() || holds_action(&dotted)
            })
            // Kyverno's own Argo CD snippet ignores the autogen rules
            // (`select(.name|test("autogen-."))`): not the action Git sets
            // (verify81). Any other jq may reach it.
            || listed("jqPathExpressions")
                .iter()
                .any(|jq| {
                    jq.as_str().is_none_or(|jq| {
                        !jq.contains("autogen")
                            || ["not", "ailureAction", "validationActions"]
                                .iter()
                                .any(|word| jq.contains(word))
                    })
                })
            || !listed("managedFieldsManagers").is_empty()
    };
    // A YAML text of ignoreDifferences (argocd-cm's): read, else taken
    // to cover it.
    let text_covers = |text: &str| {
        let parsed = documents(text, true);
        parsed.is_empty() || parsed.iter().any(|d| d.value.as_ref().is_none_or(&covers))
    };
    for (path, other) in &repo.files {
        for value in other.documents.iter().filter_map(|d| d.value.as_ref()) {
            let api = value
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
            // Every ignoreDifferences list in the document — an
            // Application's, an ApplicationSet's template or its
            // generators' own templates (verify83 A3), the argocd-apps
            // chart's values (A5).
            fn ignore_lists<'v>(value: &'v Value, found: &mut Vec<&'v Value>) {
                match value {
                    Value::Object(map) => {
                        for (key, inner) in map {
                            if key == "ignoreDifferences" {
                                if let Some(items) = inner.as_array() {
                                    found.extend(items);
                                }
                            }
                            ignore_lists(inner, found);
                        }
                    }
                    Value::Array(items) => items.iter().for_each(|item| ignore_lists(item, found)),
                    _ => {}
                }
            }
            let mut listed = Vec::new();
            ignore_lists(value, &mut listed);
            if !api.starts_with("argoproj.io/")
                && listed.iter().any(|entry| selects(entry) && covers(entry))
            {
                return Some(format!(
                    "{path} gives Argo CD an ignoreDifferences of the field holding the action"
                ));
            }
            if api.starts_with("argoproj.io/") {
                let entries = listed;
                // Added per Application by a templatePatch (a Go template,
                // not read here): taken to cover it.
                let patched = value
                    .pointer("/spec/templatePatch")
                    .and_then(Value::as_str)
                    .is_some_and(|text| {
                        // For this kind, any kind, or one it cannot tell.
                        text.contains("ignoreDifferences")
                            && (kinds.iter().any(|k| text.contains(k))
                                || text.contains('*')
                                || !text.contains("kind"))
                    });
                if patched
                    || entries
                        .into_iter()
                        .any(|entry| selects(entry) && covers(entry))
                {
                    return Some(format!(
                        "{path}: the Argo CD {kind} ignores differences of the field holding the action (ignoreDifferences)"
                    ));
                }
            }
            // argocd-cm's system-wide ignoreDifferences, per group_kind or
            // for all.
            let argocd_cm = kind == "ConfigMap"
                && value.pointer("/metadata/name").and_then(Value::as_str) == Some("argocd-cm");
            if argocd_cm {
                let data = value.get("data").and_then(Value::as_object);
                let per_key = data
                    .into_iter()
                    .flatten()
                    .filter(|(key, _)| {
                        key.strip_prefix("resource.customizations.ignoreDifferences.")
                            .is_some_and(|what| {
                                what == "all"
                                    || what.contains(['*', '?', '['])
                                    || kinds.iter().any(|k| what.ends_with(&format!("_{k}")))
                            })
                    })
                    .filter_map(|(_, text)| text.as_str())
                    .any(text_covers);
                // The older single key: `group/Kind: {ignoreDifferences: |…}`
                // (verify81 A5).
                let legacy = data
                    .and_then(|data| data.get("resource.customizations")?.as_str())
                    .is_some_and(|text| {
                        documents(text, true).iter().any(|d| match &d.value {
                            None => true,
                            Some(Value::Object(map)) => map.iter().any(|(gk, custom)| {
                                kinds.iter().any(|k| gk.ends_with(&format!("/{k}")))
                                    && custom.get("ignoreDifferences").is_some_and(|ignore| {
                                        ignore.as_str().is_none_or(text_covers)
                                    })
                            }),
                            Some(_) => false,
                        })
                    });
                let customized = per_key || legacy;
                if customized {
                    return Some(format!(
                        "{path}: argocd-cm's resource.customizations ignore differences of the field holding the action"
                    ));
                }
            }
        }
        // argocd-cm's key given another way — the argo-cd chart's
        // `configs.cm`, a configMapGenerator — for this kind, all, or a
        // glob (verify82 G2, G3): not read here, so taken to cover it.
        let parsed_cm = other
            .documents
            .iter()
            .filter_map(|d| d.value.as_ref())
            .any(|v| {
                v.get("kind").and_then(Value::as_str) == Some("ConfigMap")
                    && v.pointer("/metadata/name").and_then(Value::as_str) == Some("argocd-cm")
            });
        const KEY: &str = "resource.customizations.ignoreDifferences.";
        let elsewhere = !parsed_cm
            && other.text.match_indices(KEY).any(|(at, _)| {
                let what: String = other.text[at + KEY.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "._-*?[]".contains(*c))
                    .collect();
                what == "all"
                    || what.contains(['*', '?', '['])
                    || kinds.iter().any(|k| what.ends_with(&format!("_{k}")))
            });
        if elsewhere {
            return Some(format!(
                "{path} sets argocd-cm's {KEY}… for this kind (through a chart's values or a generator, not read here): Argo CD may ignore differences of the field holding the action"
            ));
        }
    }
    None
}

/// What keeps a commit of the patched files from reaching a cluster
/// without a step of its own (verify56 V56-8): a Flux HelmRelease or
/// Kustomization with `spec.suspend: true` (resume it), a GitRepository
/// it reads pinned by `ref.tag`, `ref.semver` or `ref.commit` (a new tag
/// or commit pin), an Argo CD Application without `syncPolicy.automated`
/// (sync it). One note each, naming the file that says so.
fn delivery_notes(repo: &Repository, settings: &[Setting]) -> Vec<String> {
    let holds = |folder: &str, file: &str| {
        folder.is_empty() || file == folder || file.starts_with(&format!("{folder}/"))
    };
    // How a GitRepository's ref holds back a commit, if it does.
    let pinned = |value: &Value| -> Option<String> {
        ["tag", "semver", "commit"]
            .into_iter()
            .find(|k| value.pointer(&format!("/spec/ref/{k}")).is_some())
            .map(|by| format!("is pinned by ref.{by}: the commit reaches the cluster only when the pin moves to it"))
            .or_else(|| {
                // A tag by its full reference name (verify62 V62-10).
                let name = value.pointer("/spec/ref/name").and_then(Value::as_str)?;
                name.starts_with("refs/tags/").then(|| {
                    format!("is pinned by ref.name {name}: the commit reaches the cluster only when the pin moves to it")
                })
            })
            .or_else(|| {
                // A branch of its own (per environment, verify60
                // V60-7): the commit must go there.
                let branch = value
                    .pointer("/spec/ref/branch")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        value
                            .pointer("/spec/ref/name")
                            .and_then(Value::as_str)?
                            .strip_prefix("refs/heads/")
                    })?;
                (!matches!(branch, "main" | "master")).then(|| {
                    if branch.contains("${") || branch.contains("{{") {
                        format!("follows branch {branch}, computed per cluster: check which branch this cluster reads, and commit the patch there")
                    } else {
                        format!("follows branch {branch}: commit the patch to that branch (a commit to another does not reach the cluster)")
                    }
                })
            })
    };
    let mut notes: Vec<String> = Vec::new();
    let mut say = |note: String| {
        if !notes.contains(&note) {
            notes.push(note);
        }
    };
    for setting in settings {
        for patch in source_patches(repo, &setting.file)
            .into_iter()
            .filter(|p| !p.repository)
        {
            say(format!("{}: it patches the revision {}, which delivers {}, reads (a targetRevision or ref of its own): the commit reaches that cluster only at the revision the patch names", patch.path, patch.target, setting.file));
        }
        let chart = longest_root(&setting.file, &repo.charts);
        for (path, file) in &repo.files {
            for (index, value) in file.documents.iter().flat_map(|d| {
                d.value
                    .iter()
                    .chain(&d.alternates)
                    .map(move |v| (d.index, v))
            }) {
                let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
                let api = api_version(value);
                let delivers = match kind {
                    "HelmRelease" => {
                        let own = *path == setting.file
                            && setting.check.as_ref().is_some_and(|c| c.document == index);
                        let folder = value
                            .pointer("/spec/chart/spec/chart")
                            .and_then(Value::as_str)
                            .map(|c| joined("", c));
                        own || folder.is_some_and(|f| chart.is_some_and(|c| same_file(&f, c)))
                            || listed_values_files(value)
                                .iter()
                                .any(|l| same_file(l, &setting.file))
                    }
                    "Kustomization" if api.starts_with("kustomize.toolkit.fluxcd.io/") => value
                        .pointer("/spec/path")
                        .and_then(Value::as_str)
                        .is_some_and(|p| {
                            holds(&joined("", p), &setting.file)
                                || folder_builds(repo, &joined("", p), &setting.file)
                        }),
                    "Application" | "ApplicationSet" if api.starts_with("argoproj.io/") => {
                        let spec = argo_spec(value);
                        let sources = argo_sources(value);
                        // Through an overlay too (verify66 V66-1); a
                        // generator's path per folder or element it gives
                        // (verify70 V70-7).
                        let path_builds = |p: &str| {
                            generated_paths(repo, value, p)
                                .unwrap_or_else(|| vec![p.to_string()])
                                .iter()
                                .any(|p| {
                                    // Left computed (a matrix, nested
                                    // generators): it may (verify71 V71-4).
                                    (p.contains("{{") && computed_may_hold(repo, p, &setting.file))
                                        || holds(&joined("", p), &setting.file)
                                        || folder_builds(repo, &joined("", p), &setting.file)
                                })
                        };
                        let applies = sources
                            .iter()
                            .filter_map(|s| s.get("path").and_then(Value::as_str))
                            .any(path_builds);
                        // The revisions that matter: of a source whose
                        // path builds the file, or of a `ref` source whose
                        // files a chart reads as values (`$ref/…`); a
                        // `ref` source applies nothing itself (verify69
                        // V69-4).
                        let value_files: Vec<&str> = sources
                            .iter()
                            .filter_map(|s| s.pointer("/helm/valueFiles")?.as_array())
                            .flatten()
                            .filter_map(Value::as_str)
                            .collect();
                        let revisions: Vec<&str> = sources
                            .iter()
                            .filter(|s| {
                                let builds = s
                                    .get("path")
                                    .and_then(Value::as_str)
                                    .is_some_and(path_builds);
                                let read_as_values =
                                    s.get("ref").and_then(Value::as_str).is_some_and(|r| {
                                        let prefix = format!("${r}/");
                                        value_files.iter().any(|v| {
                                            v.strip_prefix(&prefix)
                                                .is_some_and(|v| joined("", v) == setting.file)
                                        })
                                    });
                                builds || read_as_values
                            })
                            .filter_map(|s| s.get("targetRevision").and_then(Value::as_str))
                            .collect();
                        // A revision that is no branch head: a tag or a
                        // commit pins what is applied (verify57 V57-6).
                        let pinned_revision = revisions.iter().copied().find(|rev| {
                            let sha = rev.len() >= 7 && rev.chars().all(|c| c.is_ascii_hexdigit());
                            let version = rev.trim_start_matches('v').split('.').all(|part| {
                                !part.is_empty() && part.chars().all(|c| c.is_ascii_digit())
                            }) && rev.contains('.');
                            // refs/tags/v1 is a tag (verify69 V69-6).
                            sha || version || rev.starts_with("refs/tags/")
                        });
                        if let (true, Some(rev)) = (applies, pinned_revision) {
                            say(format!("{path}: the Argo CD {kind}'s targetRevision {rev} is a tag or commit: the commit reaches the cluster only when it moves to it"));
                        }
                        let branch = revisions.iter().copied().find(|rev| {
                            Some(*rev) != pinned_revision
                                    // refs/heads/main is main (verify68 V68-3).
                                    && !matches!(
                                        rev.strip_prefix("refs/heads/").unwrap_or(rev),
                                        "main" | "master" | "HEAD" | ""
                                    )
                        });
                        if let (true, Some(branch)) = (applies, branch) {
                            // A generator's or Flux's value (verify63 V63-9)
                            // is no branch name.
                            if branch.contains("{{") || branch.contains("${") {
                                say(format!("{path}: the Argo CD {kind}'s targetRevision {branch} is computed per cluster: check which revision this cluster reads (a tag or another branch gets the commit only when it moves to it)"));
                            } else {
                                say(format!("{path}: the Argo CD {kind}'s targetRevision {branch} is a branch of its own: commit the patch to that branch (a commit to another does not reach the cluster)"));
                            }
                        }
                        if applies
                            && value
                                .pointer("/spec/templatePatch")
                                .and_then(Value::as_str)
                                .is_some_and(|patch| patch.contains("targetRevision"))
                        {
                            say(format!("{path}: the Argo CD {kind}'s templatePatch sets targetRevision per Application: check which revision this cluster reads (a tag or another branch gets the commit only when it moves to it)"));
                        }
                        // An OCI artifact (verify64 V64-13): pushed, not
                        // committed.
                        if let (true, Some(url)) = (
                            applies,
                            sources
                                .iter()
                                .filter_map(|s| s.get("repoURL").and_then(Value::as_str))
                                .find(|url| url.starts_with("oci://")),
                        ) {
                            say(format!("{path}: the Argo CD {kind} reads the OCI artifact {url}: the commit reaches the cluster only once an artifact built from it is pushed"));
                        }
                        if applies
                            && spec
                                .and_then(|s| s.pointer("/syncPolicy/automated"))
                                .is_none()
                        {
                            say(format!("{path}: the Argo CD {kind} has no syncPolicy.automated: after the commit, sync it (argocd app sync) for the patch to reach the cluster"));
                        }
                        false
                    }
                    _ => false,
                };
                if !delivers {
                    continue;
                }
                // Applied to the cluster a kubeconfig Secret names, not
                // the one Flux runs in.
                if let Some(secret) = value
                    .pointer("/spec/kubeConfig/secretRef/name")
                    .and_then(Value::as_str)
                {
                    say(format!("{path}: the {kind} applies it to the cluster its spec.kubeConfig (Secret {secret}) names, not to the cluster Flux runs in: check that is the cluster this package judged"));
                }
                if value.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
                    say(format!("{path}: the {kind} is suspended (spec.suspend: true): the patch reaches the cluster only once it is resumed (flux resume)"));
                }
                let source_kind = value
                    .pointer("/spec/chart/spec/sourceRef/kind")
                    .or_else(|| value.pointer("/spec/sourceRef/kind"))
                    .and_then(Value::as_str);
                if source_kind == Some("OCIRepository") {
                    say(format!("{path}: the {kind} reads an OCIRepository: the commit reaches the cluster only once an artifact built from it is pushed (and the repository's ref moves to it)"));
                }
                // verify64 V64-13.
                if source_kind == Some("Bucket") {
                    say(format!("{path}: the {kind} reads a Bucket: the commit reaches the cluster only once the bucket is updated from it"));
                }
                let source_at = if value.pointer("/spec/chart/spec/sourceRef").is_some() {
                    "/spec/chart/spec/sourceRef"
                } else {
                    "/spec/sourceRef"
                };
                for (file, git) in sources_read(repo, path, value, source_at) {
                    if let Some(how) = pinned(git) {
                        say(format!(
                            "{file}: the GitRepository the {kind} in {path} reads {how}"
                        ));
                    }
                }
            }
        }
    }
    notes
}

/// Why nothing builds `file`, when Git shows it (verify55 V55-7, verify56
/// V56-6, V56-7): walking up from its folder, the first kustomization
/// file must reach it through `resources`, `bases` or `components` (at
/// any depth: kustomize, and Flux and Argo CD, which use that file, build
/// only what it lists); a folder an Argo CD Application applies as a
/// plain directory without `directory.recurse` applies its own files
/// only. None for a file in a chart, a values file, one a Flux
/// Kustomization's generated kustomization takes (every manifest under
/// its path), or one nothing here speaks of.
fn not_built_by_its_kustomization(repo: &Repository, file: &str) -> Option<String> {
    if longest_root(file, &repo.charts).is_some() || is_values_file(file) {
        return None;
    }
    let folder_of = |path: &str| path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    // What Flux Kustomizations and Argo CD Applications apply: the folder,
    // whether it recurses into subfolders, whether include/exclude globs
    // pick its files (not followed). A component is no applied folder.
    let applied: Vec<(String, bool, Option<DirectoryGlobs>)> = applied_paths(repo)
        .into_iter()
        .filter(|a| !a.component)
        .map(|a| (a.folder, a.recursive, a.globs))
        .collect();
    // An ApplicationSet's git generator excluding directories (`exclude:
    // true`) generates no Application of them (verify57 V57-4): a file
    // under one is applied by none of its Applications.
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            if value.get("kind").and_then(Value::as_str) != Some("ApplicationSet") {
                continue;
            }
            let excluded = value
                .pointer("/spec/generators")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|g| g.pointer("/git/directories")?.as_array())
                .flatten()
                .filter(|d| d.get("exclude").and_then(Value::as_bool) == Some(true))
                .filter_map(|d| d.get("path").and_then(Value::as_str));
            for glob in excluded {
                // Its literal start: what any path it matches begins with.
                let literal = glob
                    .split(['*', '?', '[', '{'])
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/');
                let literal = joined("", literal);
                if !literal.is_empty() && file.starts_with(&format!("{literal}/")) {
                    return Some(format!(
                        "as far as polscan can tell — the ApplicationSet in {path} excludes {glob} from its git generator, so none of its Applications applies it"
                    ));
                }
            }
        }
    }
    let own = folder_of(file);
    let mut folder = own.clone();
    loop {
        if let Some(kustomization) = kustomization_in(repo, &folder) {
            return (!kustomization_reaches(repo, &kustomization, file)).then(|| {
                format!("{kustomization} does not list it, at any depth (kustomize — and Flux and Argo CD, which use that file — build only what it lists)")
            });
        }
        // An Argo CD directory Application picking files by globs
        // (verify57 V57-4, verify69 V69-5): matched as Argo CD does.
        let relative = if folder.is_empty() {
            file
        } else {
            file.strip_prefix(&format!("{folder}/")).unwrap_or(file)
        };
        let at_folder: Vec<&(String, bool, Option<DirectoryGlobs>)> = applied
            .iter()
            .filter(|(path, _, _)| *path == folder)
            .collect();
        let left_out: Vec<&DirectoryGlobs> = at_folder
            .iter()
            .filter_map(|(_, _, globs)| globs.as_ref())
            .filter(|globs| !globs.pick(relative))
            .collect();
        if !left_out.is_empty() && left_out.len() == at_folder.len() {
            let globs = left_out[0];
            return Some(format!(
                "an Argo CD Application applies {} with directory globs that leave {relative} out ({})",
                if folder.is_empty() { "." } else { folder.as_str() },
                [
                    globs.include.as_deref().map(|g| format!("include {g}")),
                    globs.exclude.as_deref().map(|g| format!("exclude {g}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
            ));
        }
        let here: Vec<bool> = at_folder
            .iter()
            .filter(|(_, _, globs)| globs.as_ref().is_none_or(|globs| globs.pick(relative)))
            .map(|(_, recurse, _)| *recurse)
            .collect();
        if here.iter().any(|recurse| *recurse) {
            return None;
        }
        if !here.is_empty() && folder != own {
            return Some(format!(
                "an Argo CD Application applies {} as a plain directory without directory.recurse: the files of its subfolders are not applied",
                if folder.is_empty() { "." } else { folder.as_str() }
            ));
        }
        if folder.is_empty() {
            return None;
        }
        folder = folder_of(&folder);
    }
}

/// A build that renames what it builds, or puts it in a namespace: a
/// kustomization's `namePrefix` / `nameSuffix` / `namespace`, a Flux
/// Kustomization's `spec.namePrefix` / `spec.nameSuffix` /
/// `spec.targetNamespace`, an Argo CD source's `kustomize.namePrefix` /
/// `nameSuffix` / `namespace`. Empty strings where it sets none.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Renamer {
    /// The file declaring it.
    file: String,
    prefix: String,
    suffix: String,
    namespace: String,
}

impl Renamer {
    /// The name it gives a document named `name`.
    fn rename(&self, name: &str) -> String {
        format!("{}{name}{}", self.prefix, self.suffix)
    }

    /// Whether it changes names.
    fn renames(&self) -> bool {
        !self.prefix.is_empty() || !self.suffix.is_empty()
    }

    /// The policy it makes of `policy`'s document: `[namespace/]name`.
    fn copy_of(&self, policy: &PolicyRef<'_>) -> String {
        let name = self.rename(policy.name);
        match (policy.namespace, self.namespace.as_str()) {
            (Some(_), namespace) if !namespace.is_empty() => format!("{namespace}/{name}"),
            (Some(namespace), _) => format!("{namespace}/{name}"),
            (None, _) => name,
        }
    }

    /// `<file> (namePrefix p-, nameSuffix -s, namespace n)`.
    fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("namePrefix", &self.prefix),
            ("nameSuffix", &self.suffix),
            ("namespace", &self.namespace),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(field, v)| format!("{field} {v}"))
        .collect();
        format!("{} ({})", self.file, parts.join(", "))
    }
}

/// Every renaming build of the repository with the folder (or
/// kustomization file) it builds: `(renamer, Some(kustomization file))`
/// for a kustomization file, `(renamer, folder)` for a Flux Kustomization
/// or Argo CD source (the kustomization file there, if any, else every
/// file under it, as Flux generates one).
fn renamers(repo: &Repository) -> Vec<(Renamer, String)> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let mut found = Vec::new();
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            let api = api_version(value);
            let mut builds: Vec<(String, String, String, String)> = Vec::new();
            if is_kustomization_file(path) {
                builds.push((
                    path.clone(),
                    text(value.get("namePrefix")),
                    text(value.get("nameSuffix")),
                    text(value.get("namespace")),
                ));
            } else if api.starts_with("kustomize.toolkit.fluxcd.io/") {
                builds.push((
                    text(value.pointer("/spec/path")),
                    text(value.pointer("/spec/namePrefix")),
                    text(value.pointer("/spec/nameSuffix")),
                    text(value.pointer("/spec/targetNamespace")),
                ));
            } else if api.starts_with("argoproj.io/") {
                for source in argo_sources(value) {
                    builds.push((
                        text(source.get("path")),
                        text(source.pointer("/kustomize/namePrefix")),
                        text(source.pointer("/kustomize/nameSuffix")),
                        text(source.pointer("/kustomize/namespace")),
                    ));
                }
            }
            for (builds, prefix, suffix, namespace) in builds {
                if prefix.is_empty() && suffix.is_empty() && namespace.is_empty() {
                    continue;
                }
                let builds = if is_kustomization_file(path) {
                    builds
                } else {
                    joined("", &builds)
                };
                found.push((
                    Renamer {
                        file: path.clone(),
                        prefix,
                        suffix,
                        namespace,
                    },
                    builds,
                ));
            }
        }
    }
    found
}

/// The builds reaching `file` that may change a name or namespace in ways
/// not followed here (its `transformers` are refused as not followed at
/// all: [`unfollowed_builds`]): `replacements` writing `metadata.name` or
/// `metadata.namespace`, or a JSON 6902 patch of `/metadata/name` or
/// `/metadata/namespace` (kustomize keeps what such a patch sets; after a
/// strategic-merge patch it restores them). Each as `<file> (<what>)`.
fn metadata_changers(repo: &Repository, file: &str) -> Vec<String> {
    const TOUCHES: [&str; 4] = [
        "/metadata/name",
        "/metadata/namespace",
        "metadata.name",
        "metadata.namespace",
    ];
    let mut found = Vec::new();
    for Builder {
        path,
        value: builder,
        ..
    } in builders_of(repo, file)
    {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let touching = |key: &str| {
            builder
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|item| {
                    let text = repository::entry_text(|path| repo.text(path), folder, item);
                    TOUCHES.iter().any(|t| text.contains(t))
                })
        };
        if touching("replacements") {
            found.push(format!(
                "{path} (replacements of metadata.name or namespace)"
            ));
        }
        if touching("patches") || touching("patchesJson6902") {
            found.push(format!("{path} (a patch of metadata.name or namespace)"));
        }
    }
    found.dedup();
    found
}

/// What kind of build a [`Builder`] is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BuilderKind {
    /// A `kustomization.yaml` (kustomize's own fields).
    Kustomization,
    /// A Flux Kustomization's `spec`.
    FluxKustomization,
    /// An Argo CD Application source's `kustomize` (or the source itself,
    /// for a config management `plugin`).
    ArgoSource,
}

/// A build reaching a file: the file declaring it and the object holding
/// its transformers, patches and the like.
struct Builder<'a> {
    path: &'a str,
    kind: BuilderKind,
    value: &'a Value,
}

/// The builds reaching `file`: each kustomization file applying to it,
/// each Flux Kustomization whose `spec.path` builds it, each Argo CD
/// source (not a chart) whose `path` builds it.
fn builders_of<'a>(repo: &'a Repository, file: &str) -> Vec<Builder<'a>> {
    let mut builders = Vec::new();
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            let api = api_version(value);
            let reaches_folder = |folder: &str| folder_builds(repo, folder, file);
            if is_kustomization_file(path) {
                if kustomization_applies_to(repo, path, file) {
                    builders.push(Builder {
                        path,
                        kind: BuilderKind::Kustomization,
                        value,
                    });
                }
            } else if api.starts_with("kustomize.toolkit.fluxcd.io/") {
                let spec_path = value.pointer("/spec/path").and_then(Value::as_str);
                if reaches_folder(&joined("", spec_path.unwrap_or(""))) {
                    if let Some(spec) = value.get("spec") {
                        builders.push(Builder {
                            path,
                            kind: BuilderKind::FluxKustomization,
                            value: spec,
                        });
                    }
                }
            } else if api.starts_with("argoproj.io/") {
                for source in argo_sources(value) {
                    let source_path = source.get("path").and_then(Value::as_str).unwrap_or("");
                    if source.get("chart").is_none() && reaches_folder(&joined("", source_path)) {
                        if let Some(built) = source
                            .get("kustomize")
                            .or(source.get("plugin").map(|_| source))
                        {
                            builders.push(Builder {
                                path,
                                kind: BuilderKind::ArgoSource,
                                value: built,
                            });
                        }
                    }
                }
            }
        }
    }
    builders
}

/// The builds reaching `file` that use what polscan does not follow,
/// each as `<file> (<field>)`: a kustomization field outside those read
/// here or known to leave a policy's name, namespace and action alone
/// (one this version does not know), a Flux Kustomization field it does not know, an Argo CD
/// config management plugin, or a `kustomize` option it does not know.
/// Reading only what is known is the point: a build feature the planner
/// has not modelled could rename the policy or set its action, and the
/// patch would then not be what the cluster gets (kustomize's
/// `api/types/kustomization.go`, Flux's `KustomizationSpec`, Argo CD's
/// `ApplicationSourceKustomize`).
fn unfollowed_builds(repo: &Repository, file: &str) -> Vec<String> {
    // Read by the planner, or unable to change a policy's name,
    // namespace or action fields.
    const KUSTOMIZATION: &[&str] = &[
        "apiVersion",
        "kind",
        "metadata",
        "resources",
        "bases",
        "components",
        "crds",
        "openapi",
        "namespace",
        "namePrefix",
        "nameSuffix",
        "commonLabels",
        "labels",
        "commonAnnotations",
        "buildMetadata",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "replacements",
        "validators",
        "images",
        "imageTags",
        "replicas",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
        "helmCharts",
        "helmGlobals",
        "helmChartInflationGenerator",
        "sortOptions",
        // Generators add objects (KSOPS' secrets); a name taken already
        // fails the build. `configurations` only widen where the
        // transformers above write (Argo Rollouts' documented one:
        // verify64 V64-11); `vars` reach no action field written
        // literally.
        "generators",
        "vars",
        "configurations",
    ];
    const FLUX: &[&str] = &[
        "interval",
        "retryInterval",
        "timeout",
        "path",
        "sourceRef",
        "prune",
        "deletionPolicy",
        "wait",
        "force",
        "healthChecks",
        "healthCheckExprs",
        "dependsOn",
        "serviceAccountName",
        "suspend",
        "decryption",
        "postBuild",
        "targetNamespace",
        "namePrefix",
        "nameSuffix",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "images",
        "components",
        "ignoreMissingComponents",
        "commonMetadata",
        "validation",
        // Another cluster: a note (delivery_notes), the build is the same.
        "kubeConfig",
    ];
    const ARGO: &[&str] = &[
        "namePrefix",
        "nameSuffix",
        "images",
        "replicas",
        "commonLabels",
        "commonAnnotations",
        "commonAnnotationsEnvsubst",
        "forceCommonLabels",
        "forceCommonAnnotations",
        "labelWithoutSelector",
        "labelIncludeTemplates",
        "namespace",
        "version",
        "kubeVersion",
        "apiVersions",
        "patches",
        "components",
        "ignoreMissingComponents",
    ];
    let mut found = Vec::new();
    for builder in builders_of(repo, file) {
        let Some(fields) = builder.value.as_object() else {
            continue;
        };
        let (known, what): (&[&str], &str) = match builder.kind {
            BuilderKind::Kustomization => (KUSTOMIZATION, "kustomize"),
            BuilderKind::FluxKustomization => (FLUX, "Flux Kustomization"),
            BuilderKind::ArgoSource if fields.contains_key("plugin") => {
                found.push(format!(
                    "{} (an Argo CD config management plugin builds it)",
                    builder.path
                ));
                continue;
            }
            BuilderKind::ArgoSource => (ARGO, "Argo CD kustomize"),
        };
        // A remote Component transforms the build with what is not read
        // here (verify64 V64-4).
        for component in fields
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|c| is_remote_resource(c))
        {
            found.push(format!(
                "{} (the remote Component {component}, not read)",
                builder.path
            ));
        }
        for field in fields.keys() {
            if !known.contains(&field.as_str()) {
                found.push(format!("{} ({what} `{field}`, not followed)", builder.path));
            }
        }
    }
    found.dedup();
    found
}

/// The renaming builds that reach `file` (verify57 V57-2: a base built
/// as `a` by one overlay and as `strict-a` by a `namePrefix` overlay; a
/// patch of it switched both).
fn renamers_of(repo: &Repository, file: &str) -> Vec<Renamer> {
    let mut found: Vec<Renamer> = renamers(repo)
        .into_iter()
        .filter(|(_, builds)| {
            if is_kustomization_file(builds) {
                return kustomization_applies_to(repo, builds, file);
            }
            folder_builds(repo, builds, file)
        })
        .map(|(renamer, _)| renamer)
        .collect();
    found.dedup();
    found
}

/// A delivery of the checkout that applies `file`'s path from another
/// Git repository than the checkout's `origin` (a Flux Kustomization
/// whose GitRepository's `spec.url`, or an Argo CD source whose `repoURL`,
/// is another): `<file> applies <path> from <url>`. None without an
/// origin, or where the URL is not written here (verify61 V61-3: prod
/// read another repository's copy, and the patch of this one's switched
/// staging only).
fn other_repository_delivery(repo: &Repository, file: &str) -> Option<String> {
    let origin = repo.origin.as_deref()?;
    // A URL a generator or Flux substitutes is not known to be another
    // (verify63 V63-9): said so.
    let computed = |url: &str| {
        if url.contains("{{") || url.contains("${") {
            format!("{url} (computed per cluster)")
        } else {
            url.to_string()
        }
    };
    let reaches = |folder: &str| folder_builds(repo, folder, file);
    if let Some(found) = unrendered_other_delivery(repo, origin, file) {
        return Some(found);
    }
    // An overlay pointing a delivery at another repository (or at one
    // not written out).
    for patch in source_patches(repo, file)
        .into_iter()
        .filter(|p| p.repository)
    {
        match patch.urls.iter().find(|url| !same_repository(url, origin)) {
            Some(url) => {
                return Some(format!(
                    "{} patches {}, which delivers it, to read {url}",
                    patch.path, patch.target
                ))
            }
            None if patch.urls.is_empty() => {
                return Some(format!(
                "{} changes which repository {}, which delivers it, reads (a replacement, or a patch of its source), to a value not read here",
                patch.path, patch.target
            ))
            }
            None => {}
        }
    }
    for (path, entry) in &repo.files {
        for value in entry
            .documents
            .iter()
            .flat_map(|d| d.value.iter().chain(&d.alternates))
        {
            let api = api_version(value);
            // A Flux Kustomization's path, or a HelmRelease's chart folder
            // (verify62 V62-2), from a GitRepository.
            let flux_kustomization = api.starts_with("kustomize.toolkit.fluxcd.io/");
            let release = value.get("kind").and_then(Value::as_str) == Some("HelmRelease");
            if flux_kustomization || release {
                let (source, folder) = if flux_kustomization {
                    ("/spec/sourceRef", "/spec/path")
                } else {
                    ("/spec/chart/spec/sourceRef", "/spec/chart/spec/chart")
                };
                let folder = value.pointer(folder).and_then(Value::as_str).unwrap_or("");
                // Each GitRepository it may read (verify62 V62-1: two
                // clusters naming theirs alike): any of another repository
                // counts, and one including another repository's files
                // where the file is (spec.include, V62-4, V63-7).
                let mut urls: Vec<String> = Vec::new();
                for (_, git) in sources_read(repo, path, value, source) {
                    urls.extend(
                        git.pointer("/spec/url")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    );
                    let includes_here = git
                        .pointer("/spec/include")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|include| {
                            let to = include
                                .get("toPath")
                                .and_then(Value::as_str)
                                .or_else(|| {
                                    include.pointer("/repository/name").and_then(Value::as_str)
                                })
                                .map(|to| joined("", to))
                                .unwrap_or_default();
                            to.is_empty() || file == to || file.starts_with(&format!("{to}/"))
                        });
                    if includes_here {
                        urls.push("another repository (spec.include)".into());
                    }
                }
                let other = urls.iter().find(|url| !same_repository(url, origin));
                if let Some(url) = other.filter(|_| reaches(&joined("", folder))) {
                    return Some(format!("{path} applies {folder} from {}", computed(url)));
                }
            } else if api.starts_with("argoproj.io/") {
                // An ApplicationSet's templatePatch may set each
                // Application's repository (verify66 V66-4): not read here.
                let patched_source = value
                    .pointer("/spec/templatePatch")
                    .and_then(Value::as_str)
                    .is_some_and(|patch| patch.contains("repoURL") || patch.contains("sources"));
                if patched_source
                    && argo_sources(value).iter().any(|source| {
                        source
                            .get("path")
                            .and_then(Value::as_str)
                            .is_some_and(|folder| reaches(&joined("", folder)))
                    })
                {
                    return Some(format!(
                        "{path} applies it from a repository its templatePatch sets per Application (computed per cluster)"
                    ));
                }
                for source in argo_sources(value) {
                    let (Some(url), Some(folder)) = (
                        source.get("repoURL").and_then(Value::as_str),
                        source.get("path").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    if source.get("chart").is_none()
                        && !url.starts_with("oci://")
                        && !same_repository(url, origin)
                        && reaches(&joined("", folder))
                    {
                        return Some(format!("{path} applies {folder} from {}", computed(url)));
                    }
                }
            }
        }
    }
    None
}

/// The GitRepositories a Flux object in `path` (`value`) reads through its
/// sourceRef at `source` (`/spec/sourceRef`, `/spec/chart/spec/sourceRef`):
/// those of its name, in its namespace (the sourceRef's, else the
/// object's own; either unwritten matches any), as `(file, document)`.
/// One in the object's own file, else those in its folder or below, are
/// the ones read: two clusters' folders often each name
/// theirs alike (verify62 V62-1, verify63 V63-5, V63-6, verify64 V64-7).
/// Empty for another kind of source.
fn sources_read<'a>(
    repo: &'a Repository,
    path: &str,
    value: &Value,
    source: &str,
) -> Vec<(&'a str, &'a Value)> {
    if value
        .pointer(&format!("{source}/kind"))
        .and_then(Value::as_str)
        != Some("GitRepository")
    {
        return Vec::new();
    }
    let Some(name) = value
        .pointer(&format!("{source}/name"))
        .and_then(Value::as_str)
    else {
        return Vec::new();
    };
    let namespace = value
        .pointer(&format!("{source}/namespace"))
        .or_else(|| value.pointer("/metadata/namespace"))
        .and_then(Value::as_str);
    let candidates: Vec<(&str, &Value)> = repo
        .files
        .iter()
        .flat_map(|(p, f)| f.documents.iter().map(move |d| (p.as_str(), d)))
        .filter_map(|(p, d)| Some((p, d.value.as_ref()?)))
        .filter(|(_, v)| {
            v.get("kind").and_then(Value::as_str) == Some("GitRepository")
                && v.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && match (
                    namespace,
                    v.pointer("/metadata/namespace").and_then(Value::as_str),
                ) {
                    (Some(wanted), Some(theirs)) => wanted == theirs,
                    _ => true,
                }
        })
        .collect();
    let same_file: Vec<(&str, &Value)> = candidates
        .iter()
        .copied()
        .filter(|(p, _)| *p == path)
        .collect();
    if !same_file.is_empty() {
        return same_file;
    }
    // Else those in its folder or below it (`flux bootstrap` keeps each
    // cluster's source in clusters/<cluster>/flux-system/ beside its
    // Kustomizations: verify64 V64-7). Past its folder, nothing tells
    // which is read: all count.
    let own = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    if !own.is_empty() {
        let within: Vec<(&str, &Value)> = candidates
            .iter()
            .copied()
            .filter(|(p, _)| p.starts_with(&format!("{own}/")))
            .collect();
        if !within.is_empty() {
            return within;
        }
    }
    candidates
}

/// A kustomize patch of what a delivery reads: its repository
/// (`repoURL`, a GitRepository's `url`) or its revision (`targetRevision`,
/// `ref`), in a kustomization, a Flux Kustomization's `spec.patches` or
/// an Argo CD source's `kustomize.patches` (verify63 V63-2, V63-8: an
/// overlay per cluster pointed prod's Application at another repository,
/// or at a tag, unseen).
struct SourcePatch {
    /// The file declaring the patch.
    path: String,
    /// The kind (and name, where the target names one) it patches.
    target: String,
    /// Whether it patches the repository (else the revision).
    repository: bool,
    /// The URLs it writes, where written literally.
    urls: Vec<String>,
}

/// Every [`SourcePatch`] of the checkout whose target may be a delivery
/// applying `file` (no name, or the name of one that builds it, or of the
/// GitRepository such a Flux Kustomization reads).
fn source_patches(repo: &Repository, file: &str) -> Vec<SourcePatch> {
    // A re-pointed sourceRef reads another source (verify65 V65-2).
    const REPOSITORY: [&str; 4] = ["repoURL", "/spec/url", "url:", "sourceRef"];
    const REVISION: [&str; 4] = ["targetRevision", "/spec/ref", "ref:", "revision"];
    // Names of the deliveries applying `file`, and of their sources.
    let mut delivering: BTreeSet<String> = BTreeSet::new();
    for value in repo.document_values() {
        let api = api_version(value);
        let name = value.pointer("/metadata/name").and_then(Value::as_str);
        let builds = |folder: Option<&str>| {
            folder.is_some_and(|folder| folder_builds(repo, &joined("", folder), file))
        };
        if api.starts_with("kustomize.toolkit.fluxcd.io/")
            && builds(value.pointer("/spec/path").and_then(Value::as_str))
        {
            delivering.extend(name.map(str::to_string));
            delivering.extend(
                value
                    .pointer("/spec/sourceRef/name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            );
        } else if api.starts_with("argoproj.io/")
            && argo_sources(value)
                .iter()
                .any(|source| builds(source.get("path").and_then(Value::as_str)))
        {
            delivering.extend(name.map(str::to_string));
        }
    }
    let mut found = Vec::new();
    for (path, entry) in &repo.files {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            let mut patches: Vec<&Value> = Vec::new();
            if is_kustomization_file(path) {
                for key in ["patches", "patchesJson6902", "patchesStrategicMerge"] {
                    patches.extend(
                        value
                            .get(key)
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    );
                }
            } else if value
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|api| api.starts_with("kustomize.toolkit.fluxcd.io/"))
            {
                patches.extend(
                    value
                        .pointer("/spec/patches")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            } else {
                for source in argo_sources(value) {
                    patches.extend(
                        source
                            .pointer("/kustomize/patches")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    );
                }
            }
            // A replacement writing a delivery's repository or revision
            // from another object (verify64 V64-3): the value is not
            // written here.
            if is_kustomization_file(path) {
                let replacements = kustomize_replacements(repo, folder, value);
                for (replacement, target) in replacements.iter().flat_map(|r| {
                    r.get("targets")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(move |t| (r, t))
                }) {
                    let kind = target.pointer("/select/kind").and_then(Value::as_str);
                    let name = target.pointer("/select/name").and_then(Value::as_str);
                    let delivery_kind = kind.is_none_or(|kind| {
                        repository::DELIVERY_KINDS.contains(&kind) && kind != "HelmRelease"
                    });
                    let ours = name.is_none_or(|name| delivering.contains(name));
                    let paths: Vec<&str> = target
                        .get("fieldPaths")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let repository = paths.iter().any(|p| {
                        p.ends_with("repoURL")
                            || p.ends_with(".url")
                            || p.contains("sources")
                            || p.contains("sourceRef")
                    });
                    let revision = paths
                        .iter()
                        .any(|p| p.ends_with("targetRevision") || p.contains("spec.ref"));
                    if delivery_kind && ours && (repository || revision) {
                        found.push(SourcePatch {
                            path: path.clone(),
                            target: [kind, name]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" "),
                            repository,
                            // A ConfigMap's value written here (verify65
                            // V65-7: this repository's own URL).
                            urls: replacement_source(repo, replacement).into_iter().collect(),
                        });
                    }
                }
            }
            for patch in patches {
                let text = repository::entry_text(|path| repo.text(path), folder, patch);
                let target_kind = patch
                    .pointer("/target/kind")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        documents(&text, true)
                            .into_iter()
                            .filter_map(|d| d.value)
                            .find_map(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
                    });
                let target_name = patch
                    .pointer("/target/name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        documents(&text, true)
                            .into_iter()
                            .filter_map(|d| d.value)
                            .find_map(|v| {
                                v.pointer("/metadata/name")
                                    .and_then(Value::as_str)
                                    .map(str::to_string)
                            })
                    });
                let delivery_kind = target_kind.as_deref().is_none_or(|kind| {
                    repository::DELIVERY_KINDS.contains(&kind) && kind != "HelmRelease"
                });
                let ours = target_name.as_deref().is_none_or(|name| {
                    delivering.contains(name)
                        || regex::Regex::new(&format!("^(?:{name})$")).map_or(true, |pattern| {
                            delivering.iter().any(|d| pattern.is_match(d))
                        })
                });
                let repository = REPOSITORY.iter().any(|field| text.contains(field));
                let revision = REVISION.iter().any(|field| text.contains(field));
                if !(delivery_kind && ours && (repository || revision)) {
                    continue;
                }
                let urls = text
                    .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                    .filter(|word| word.contains("://") || word.starts_with("git@"))
                    // A flow mapping's `,` or `}` is no part of it.
                    .map(|word| word.trim_end_matches([',', '}', ']']).to_string())
                    .collect();
                found.push(SourcePatch {
                    path: path.clone(),
                    target: [target_kind, target_name]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" "),
                    repository,
                    urls,
                });
            }
        }
    }
    found
}

/// The charts the checkout installs from a Helm repository, as `<file>
/// (chart <name>)`: a Flux HelmRelease from a HelmRepository, an Argo CD
/// source with `chart:`, a kustomization's `helmCharts` entry with a
/// `repo`.
fn published_charts(repo: &Repository) -> Vec<String> {
    let mut found = Vec::new();
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            let text = |pointer: &str| value.pointer(pointer).and_then(Value::as_str);
            if value.get("kind").and_then(Value::as_str) == Some("HelmRelease")
                && text("/spec/chart/spec/sourceRef/kind") == Some("HelmRepository")
            {
                if let Some(chart) = text("/spec/chart/spec/chart") {
                    found.push(format!("{path} (chart {chart})"));
                }
            } else if text("/apiVersion").is_some_and(|api| api.starts_with("argoproj.io/")) {
                for source in argo_sources(value) {
                    if let Some(chart) = source.get("chart").and_then(Value::as_str) {
                        found.push(format!("{path} (chart {chart})"));
                    }
                }
            } else if is_kustomization_file(path) {
                for chart in value
                    .get("helmCharts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.get("repo").is_some())
                {
                    if let Some(name) = chart.get("name").and_then(Value::as_str) {
                        found.push(format!("{path} (chart {name})"));
                    }
                }
            }
        }
    }
    found.dedup();
    found
}

/// `path` with every symbolic link on it resolved (a link's path, or a
/// folder under it, replaced by its target; at most 16 times, for a
/// cycle).
fn resolved(repo: &Repository, path: &str) -> String {
    let mut path = path.to_string();
    for _ in 0..16 {
        let next = repo.links.iter().find_map(|(link, target)| {
            if path == *link {
                Some(target.clone())
            } else {
                path.strip_prefix(&format!("{link}/"))
                    .map(|rest| joined(target, rest))
            }
        });
        match next {
            Some(next) if next != path => path = next,
            _ => break,
        }
    }
    path
}

/// The other paths `file` has through the checkout's symbolic links: a
/// link to it, or a path through a link to a folder above it, and so on
/// through chains of links (at most 64 of them).
fn link_aliases(repo: &Repository, file: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut pending = vec![file.to_string()];
    while let Some(path) = pending.pop() {
        for (link, target) in &repo.links {
            let alias = if path == *target {
                link.clone()
            } else if target.is_empty() {
                format!("{link}/{path}")
            } else if let Some(rest) = path.strip_prefix(&format!("{target}/")) {
                format!("{link}/{rest}")
            } else {
                continue;
            };
            if alias != file && !found.contains(&alias) && found.len() < 64 {
                found.push(alias.clone());
                pending.push(alias);
            }
        }
    }
    found
}

/// The paths (through symbolic links) at which an Argo CD source applies
/// `file` once more: a directory source whose path holds the alias,
/// where Argo CD gets to it — its path resolves through links above it,
/// but Go's `filepath.Walk` enters no linked folder below it, nor a path
/// that is itself a link (argo-cd#17810), and without `recurse` stays in
/// its folder — or a kustomization such a source builds listing it or a
/// path through a link (kustomize follows links). Flux's artifacts leave
/// links out, so no Flux delivery counts (verify69 V69-2, verify70 V70-1,
/// V70-2, V70-8, verify71 V71-2, V71-8).
fn link_reaches(repo: &Repository, file: &str) -> Vec<String> {
    let aliases = link_aliases(repo, file);
    if aliases.is_empty() && repo.links.is_empty() {
        return Vec::new();
    }
    let under = |path: &str, folder: &str| {
        folder.is_empty() || path == folder || path.starts_with(&format!("{folder}/"))
    };
    let parent = |path: &str| path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    let mut reached = Vec::new();
    for value in repo.document_values() {
        for source in argo_sources(value) {
            let Some(path) = source.get("path").and_then(Value::as_str) else {
                continue;
            };
            let recurse = source
                .pointer("/directory/recurse")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            // An ApplicationSet's path per generated folder or element
            // (verify72 V72-5); one left computed may be any folder its
            // fixed start holds.
            let folders = generated_paths(repo, value, path).unwrap_or_else(|| vec![path.into()]);
            for folder in folders.iter().map(|f| joined("", f)) {
                if folder.contains("{{") {
                    reached.extend(
                        aliases
                            .iter()
                            .filter(|alias| computed_may_hold(repo, &folder, alias))
                            .cloned(),
                    );
                    continue;
                }
                let real = resolved(repo, &folder);
                let kustomization = kustomization_in(repo, &real);
                // Helm loads a chart following every link in it (its
                // sympath walk: verify72 V72-2).
                let chart = kustomization.is_none()
                    && (repo.charts.contains(&real) || source.get("helm").is_some());
                // The source's own path through a link (verify72 V72-1):
                // what it builds there, for kustomize and Helm, or a
                // directory walked from a resolved (not linked) root.
                if real != folder {
                    let builds = match &kustomization {
                        Some(kustomization) => loosely_reaches(repo, kustomization, file),
                        None if chart => under(file, &real),
                        None => {
                            !repo.links.contains_key(&folder)
                                && under(file, &real)
                                && (recurse || parent(file) == real)
                        }
                    };
                    if builds {
                        reached.push(format!("{folder} (a path through a link to {real})"));
                    }
                }
                for alias in &aliases {
                    let walked = !chart
                        && kustomization.is_none()
                        && under(alias, &folder)
                        && !repo.links.contains_key(&folder)
                        && !repo.links.keys().any(|link| {
                            link != alias
                                && under(link, &folder)
                                && link != &folder
                                && under(alias, link)
                        })
                        && (recurse || parent(alias) == folder);
                    // What Helm renders of the chart: its templates and
                    // CRDs, not its docs (verify73 V73-8).
                    let charted = chart
                        && (chart_renders(&folder, alias, true)
                            || chart_renders(&real, alias, true));
                    let kustomized = kustomization.as_ref().is_some_and(|kustomization| {
                        loosely_reaches(repo, kustomization, alias)
                            || loosely_reaches(repo, kustomization, &resolved(repo, alias))
                    });
                    if walked || charted || kustomized {
                        reached.push(alias.clone());
                    }
                }
            }
        }
    }
    let mut unique = Vec::new();
    for path in reached {
        if !unique.contains(&path) {
            unique.push(path);
        }
    }
    unique
}

/// Whether a path still computed (`envs/{{cluster}}/policies`) may
/// build `file`: some folder of the checkout at or under its fixed start
/// (up to the folder the first `{{` is in) builds it ([`folder_builds`]:
/// an overlay there may list `../../policies`: verify73 V73-1), or the
/// fixed start is the root. `apps/{{x}}` builds no `policies/a.yaml`
/// (verify72 V72-4). The path is read from the root (`./envs/…` is
/// `envs/…`: verify73 V73-2).
fn computed_may_hold(repo: &Repository, path: &str, file: &str) -> bool {
    let path = joined("", path);
    let fixed = path.split("{{").next().unwrap_or("");
    let folder = fixed.rsplit_once('/').map_or("", |(dir, _)| dir);
    if folder.is_empty() || file.starts_with(&format!("{folder}/")) {
        return true;
    }
    let mut candidates: BTreeSet<&str> = BTreeSet::new();
    for path in repo.files.keys() {
        let mut current = path.as_str();
        while let Some((parent, _)) = current.rsplit_once('/') {
            if parent == folder || parent.starts_with(&format!("{folder}/")) {
                candidates.insert(parent);
            }
            current = parent;
        }
    }
    candidates
        .into_iter()
        .any(|candidate| folder_builds(repo, candidate, file))
}

/// The deliveries (their files) installing the chart holding `file` in
/// its `crds/` folder (or a parent chart of it: Helm installs its
/// subcharts' CRDs too) that never apply a change there: Helm installs a
/// chart's `crds/` but never upgrades them, and helm-controller does so
/// only with `spec.upgrade.crds: CreateReplace` (its default is `Skip`);
/// an Argo CD source with `helm.skipCrds: true` and kustomize's
/// `helmCharts` without `includeCRDs: true` leave them out altogether. A
/// HelmRelease of the chart's folder from Git (directly or through a
/// Flux HelmChart's `chartRef`) or of its name from a Helm repository
/// counts. Empty for a file outside a chart's `crds/` (verify69 V69-3,
/// verify70 V70-3, V70-4).
fn crds_not_upgraded(repo: &Repository, file: &str) -> Vec<String> {
    let Some(root) = longest_root(file, &repo.charts) else {
        return Vec::new();
    };
    let relative = if root.is_empty() {
        file
    } else {
        file.strip_prefix(&format!("{root}/")).unwrap_or(file)
    };
    if !relative.starts_with("crds/") {
        return Vec::new();
    }
    let mut roots = vec![root.to_string()];
    roots.extend(ancestor_charts(repo, root));
    let names: Vec<&str> = roots
        .iter()
        .filter_map(|root| {
            repo.files
                .get(&joined(root, "Chart.yaml"))?
                .documents
                .first()?
                .value
                .as_ref()?
                .get("name")?
                .as_str()
        })
        .collect();
    let of_chart = |chart: &str| roots.contains(&joined("", chart)) || names.contains(&chart);
    // Flux HelmCharts by name: what a HelmRelease's chartRef reads.
    let helm_charts: BTreeMap<&str, &str> = repo
        .document_values()
        .filter(|value| value.get("kind").and_then(Value::as_str) == Some("HelmChart"))
        .filter_map(|value| {
            Some((
                value.pointer("/metadata/name")?.as_str()?,
                value.pointer("/spec/chart")?.as_str()?,
            ))
        })
        .collect();
    let mut found = Vec::new();
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            let kind = value.get("kind").and_then(Value::as_str);
            let leaves_crds = if kind == Some("HelmRelease") {
                let chart = value
                    .pointer("/spec/chart/spec/chart")
                    .and_then(Value::as_str)
                    .or_else(|| {
                        let reference = value.pointer("/spec/chartRef")?;
                        (reference.get("kind")?.as_str()? == "HelmChart")
                            .then(|| helm_charts.get(reference.get("name")?.as_str()?).copied())?
                    });
                chart.is_some_and(of_chart)
                    && value.pointer("/spec/upgrade/crds").and_then(Value::as_str)
                        != Some("CreateReplace")
            } else if is_kustomization_file(path) {
                let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                local_helm_charts(repo, value, folder)
                    .into_iter()
                    .any(|(chart, folder)| {
                        chart.get("includeCRDs").and_then(Value::as_bool) != Some(true)
                            && of_chart(&folder)
                    })
            } else {
                argo_sources(value).iter().any(|source| {
                    // An ApplicationSet's path per generated folder or
                    // element; one left computed may be the chart's
                    // (verify71 V71-3).
                    let paths = source.get("path").and_then(Value::as_str).map(|path| {
                        generated_paths(repo, value, path).unwrap_or_else(|| vec![path.to_string()])
                    });
                    source.pointer("/helm/skipCrds").and_then(Value::as_bool) == Some(true)
                        && (paths.into_iter().flatten().any(|path| {
                            path.contains("{{") || of_chart(&resolved(repo, &joined("", &path)))
                        }) || source
                            .get("chart")
                            .and_then(Value::as_str)
                            .is_some_and(of_chart))
                })
            };
            if leaves_crds && !found.contains(path) {
                found.push(path.clone());
            }
        }
    }
    found
}

/// The releases of the chart at `root` by its name from a Helm
/// repository: a Flux HelmRelease of chart `<name>` from a
/// HelmRepository, an Argo CD source with `chart: <name>`.
fn published_releases(repo: &Repository, root: &str) -> Vec<String> {
    let chart_file = if root.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{root}/Chart.yaml")
    };
    let Some(name) = repo
        .files
        .get(&chart_file)
        .and_then(|f| f.documents.first()?.value.as_ref()?.get("name")?.as_str())
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            let from_repository = value.get("kind").and_then(Value::as_str) == Some("HelmRelease")
                && value
                    .pointer("/spec/chart/spec/chart")
                    .and_then(Value::as_str)
                    == Some(name)
                && value
                    .pointer("/spec/chart/spec/sourceRef/kind")
                    .and_then(Value::as_str)
                    == Some("HelmRepository");
            let argo = argo_sources(value)
                .iter()
                .any(|source| source.get("chart").and_then(Value::as_str) == Some(name));
            if (from_repository || argo) && !found.contains(path) {
                found.push(path.clone());
            }
        }
    }
    found
}

/// The ApplicationSet whose source may apply `file` (its path builds it,
/// or is computed) and whose `templatePatch` sets a source's
/// `kustomize`, `helm`, `directory`, `plugin` or `path` (verify67 V67-2:
/// a prod-only kustomize patch forcing Audit).
fn reshaping_template_patch(repo: &Repository, file: &str) -> Option<String> {
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            let Some(patch) = value.pointer("/spec/templatePatch").and_then(Value::as_str) else {
                continue;
            };
            let reshapes = ["kustomize", "helm", "directory", "plugin", "path:"]
                .iter()
                .any(|field| patch.contains(field));
            let applies = argo_sources(value).iter().any(|source| {
                source
                    .get("path")
                    .and_then(Value::as_str)
                    .is_some_and(|folder| {
                        folder.contains("{{") || folder_builds(repo, &joined("", folder), file)
                    })
            });
            if reshapes && applies {
                return Some(path.clone());
            }
        }
    }
    None
}

/// Whether a delivery of the checkout renders the chart at `root` from
/// its folder in Git: an Argo CD source with its path, a HelmRelease of
/// its folder from a GitRepository or Bucket, or (so) a parent chart.
fn rendered_from_git(repo: &Repository, root: &str) -> bool {
    // A chart of `root` built from Git: `<spec>/chart` is the folder and
    // `<spec>/sourceRef` a GitRepository or Bucket (a HelmRelease's
    // `spec.chart.spec`, a HelmChart's `spec`).
    let of_root_from_git = |value: &Value, spec: &str, root: &str| {
        value
            .pointer(&format!("{spec}/chart"))
            .and_then(Value::as_str)
            .is_some_and(|chart| joined("", chart) == root)
            && value
                .pointer(&format!("{spec}/sourceRef/kind"))
                .and_then(Value::as_str)
                .is_some_and(|kind| kind == "GitRepository" || kind == "Bucket")
    };
    let direct = |root: &str| {
        repo.files
            .values()
            .flat_map(|f| &f.documents)
            .filter_map(|d| d.value.as_ref())
            .any(|value| {
                argo_sources(value).iter().any(|source| {
                    let Some(path) = source.get("path").and_then(Value::as_str) else {
                        return false;
                    };
                    // A generator's path, resolved where it can be
                    // (verify67 V67-3); any folder where it cannot.
                    let folders = generated_directories(repo, value, path)
                        .unwrap_or_else(|| vec![path.to_string()]);
                    source.get("chart").is_none()
                        && folders
                            .iter()
                            .any(|p| joined("", p) == root || p.contains("{{"))
                }) || of_root_from_git(value, "/spec/chart/spec", root)
                    // A Flux HelmChart of the folder, which a HelmRelease's
                    // chartRef releases (verify70 V70-3).
                    || (value.get("kind").and_then(Value::as_str) == Some("HelmChart")
                        && of_root_from_git(value, "/spec", root))
            })
    };
    // kustomize's `helmCharts` renders a chart its chartHome folder holds
    // ([`local_helm_charts`]).
    let inflated = |root: &str| {
        repo.files
            .iter()
            .filter(|(path, _)| is_kustomization_file(path))
            .any(|(path, file)| {
                let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                inflated_charts(repo, file, folder)
                    .iter()
                    .any(|chart| chart == root)
            })
    };
    direct(root)
        || inflated(root)
        || ancestor_charts(repo, root)
            .iter()
            .any(|parent| direct(parent) || inflated(parent))
}

/// Whether the delivery `value` builds `file`: a Flux Kustomization's
/// `spec.path`, or an Argo CD source's `path`, through what that folder
/// builds ([`folder_builds`]).
fn delivery_builds(repo: &Repository, value: &Value, file: &str) -> bool {
    let builds =
        |folder: Option<&str>| folder.is_some_and(|f| folder_builds(repo, &joined("", f), file));
    builds(value.pointer("/spec/path").and_then(Value::as_str))
        || argo_sources(value)
            .iter()
            .any(|source| builds(source.get("path").and_then(Value::as_str)))
}

/// The chart templates rendered into a delivery applying `file` whose
/// chart no delivery of the checkout renders (an Argo CD source with its
/// path, a HelmRelease with its folder).
fn rendered_without_root(repo: &Repository, file: &str) -> Vec<String> {
    let renders_chart = |root: &str| {
        repo.files
            .values()
            .flat_map(|f| &f.documents)
            .filter_map(|d| d.value.as_ref())
            .any(|value| {
                argo_sources(value).iter().any(|source| {
                    source
                        .get("path")
                        .and_then(Value::as_str)
                        .is_some_and(|p| joined("", p) == root)
                }) || value
                    .pointer("/spec/chart/spec/chart")
                    .and_then(Value::as_str)
                    .is_some_and(|chart| joined("", chart) == root)
            })
    };
    let applies = |value: &Value| delivery_builds(repo, value, file);
    repo.files
        .iter()
        .filter_map(|(path, entry)| Some((path, entry, entry.template_of.as_deref()?)))
        .filter(|(_, entry, root)| {
            entry
                .documents
                .iter()
                .flat_map(|d| d.value.iter().chain(&d.alternates))
                .any(applies)
                && !renders_chart(root)
        })
        .map(|(path, _, _)| path.clone())
        .collect()
}

/// The chart templates rendered more than once (see
/// `repository::render_delivery_templates`) into a delivery applying
/// `file`, with how many renders: `(template, n)`.
fn rendered_fanout(repo: &Repository, file: &str) -> Vec<(String, usize)> {
    let applies = |value: &Value| delivery_builds(repo, value, file);
    let mut found = Vec::new();
    for (path, entry) in repo.files.iter().filter(|(_, f)| f.template_of.is_some()) {
        for document in entry.documents.iter().filter(|d| !d.alternates.is_empty()) {
            let renders: Vec<&Value> = document.value.iter().chain(&document.alternates).collect();
            if renders.iter().any(|v| applies(v)) {
                found.push((path.clone(), renders.len()));
            }
        }
    }
    found
}

/// The value a kustomize replacement copies, where the checkout writes
/// it: its source is a ConfigMap (a manifest, or a kustomization's
/// `configMapGenerator` literal) and its `fieldPath` is `data.<key>`.
fn replacement_source(repo: &Repository, replacement: &Value) -> Option<String> {
    let source = replacement.get("source")?;
    if source.get("kind").and_then(Value::as_str) != Some("ConfigMap") {
        return None;
    }
    let name = source.get("name").and_then(Value::as_str)?;
    let key = source
        .get("fieldPath")
        .and_then(Value::as_str)?
        .strip_prefix("data.")?;
    for (path, entry) in &repo.files {
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            if value.get("kind").and_then(Value::as_str) == Some("ConfigMap")
                && value.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
            {
                if let Some(found) = value
                    .get("data")
                    .and_then(|d| d.get(key))
                    .and_then(Value::as_str)
                {
                    return Some(found.to_string());
                }
            }
            if !is_kustomization_file(path) {
                continue;
            }
            for generator in value
                .get("configMapGenerator")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|g| g.get("name").and_then(Value::as_str) == Some(name))
            {
                for literal in generator
                    .get("literals")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if let Some(found) = literal
                        .split_once('=')
                        .filter(|(k, _)| *k == key)
                        .map(|(_, v)| v)
                    {
                        return Some(found.to_string());
                    }
                }
            }
        }
    }
    None
}

/// A delivery a chart's template computes and polscan did not render
/// (template logic, or values a delivery gives the chart: see
/// `repository::render_delivery_templates`) that may apply `file` from
/// another repository: one of its `repoURL:` / `url:` lines is computed or
/// names another repository than `origin`, and one of its `path:` lines is
/// computed or builds the file. As `<template> (a <kind> its chart
/// computes) applies <path> from <url>` (verify63 V63-1: an app-of-apps
/// chart's Application read another repository's copy, unseen).
fn unrendered_other_delivery(repo: &Repository, origin: &str, file: &str) -> Option<String> {
    let scalar = |line: &str, key: &str| -> Option<String> {
        let rest = line.trim().trim_start_matches("- ").trim();
        let value = rest.strip_prefix(key)?.strip_prefix(':')?;
        let value = unquote(value.split(" #").next().unwrap_or(value).trim());
        (!value.is_empty()).then(|| value.to_string())
    };
    for (path, entry) in repo.files.iter().filter(|(_, f)| f.template_of.is_some()) {
        for document in &entry.documents {
            let Some(kind) = document
                .identity
                .as_ref()
                .map(|i| i.kind.as_str())
                .filter(|kind| repository::DELIVERY_KINDS.contains(kind))
            else {
                continue;
            };
            if document.value.is_some() {
                continue;
            }
            let lines = entry.lines(document);
            let url = lines
                .iter()
                .filter_map(|line| scalar(line, "repoURL").or_else(|| scalar(line, "url")))
                .find(|url| url.contains("{{") || !same_repository(url, origin));
            let folder = lines
                .iter()
                .filter_map(|line| scalar(line, "path"))
                .find(|folder| {
                    folder.contains("{{") || folder_builds(repo, &joined("", folder), file)
                });
            if let (Some(url), Some(folder)) = (url, folder) {
                let computed = if url.contains("{{") {
                    " (computed per cluster)"
                } else {
                    ""
                };
                return Some(format!(
                    "{path} (its {kind}, computed by the chart's template, is not rendered here) applies {folder} from {url}{computed}"
                ));
            }
        }
    }
    None
}

/// The kustomizations of the checkout listing a remote resource — a Git
/// repository folder or a file by URL (`https://github.com/org/repo//policies?ref=v1`,
/// `github.com/org/repo/policies`, `git@…`, a raw file URL) — whose URL
/// names `file` or one of its folders, as `<file> (<url>)` (verify60 V60-2: one environment built its policies
/// from a pinned remote ref while the patch went to the local copy another
/// environment builds).
fn remote_bases(repo: &Repository, file: &str) -> Vec<String> {
    // A remote folder (or file) naming `file`: its folder, or a path
    // ending in the file's own (an ingress controller's remote base is not
    // the policies', verify61 V61-5; nor Kyverno's `policies` repository's
    // pod-security folder, verify62 V62-9; a remote copy of
    // policies/a.yaml is, V61-1).
    let own_folder = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    // Either may sit deeper in its repository than the other: a library
    // repository's `baseline` folder is a fork's `policies/baseline`
    // (verify63 V63-3).
    // Or their last folders agree: Kyverno's `pod-security/baseline`
    // vendored as `policies/baseline` (verify64 V64-5); its `policies`
    // repository beside a fork's own `policies` folder does not (V62-9).
    let last = |folder: &str| folder.rsplit('/').next().unwrap_or(folder).to_string();
    let names_file = |remote: &str| {
        !remote.is_empty()
            && (remote == own_folder
                || remote.ends_with(&format!("/{own_folder}"))
                || own_folder.ends_with(&format!("/{remote}"))
                || remote == file
                || remote.ends_with(&format!("/{file}")))
    };
    let mut found = Vec::new();
    for (path, entry) in &repo.files {
        let flux = |v: &Value| {
            v.get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|api| api.starts_with("kustomize.toolkit.fluxcd.io/"))
        };
        for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
            if !is_kustomization_file(path) || flux(value) {
                continue;
            }
            for resource in ["resources", "bases", "components"]
                .into_iter()
                .filter_map(|key| value.get(key)?.as_array())
                .flatten()
                .filter_map(Value::as_str)
            {
                let remote = is_remote_resource(resource);
                // This very repository at another ref, or a folder whose
                // local copy builds the file (verify62 V62-3: a remote
                // `platform` including ../policies).
                let (repository, folder) = remote_parts(resource);
                let this_repository = repo
                    .origin
                    .as_deref()
                    .is_some_and(|origin| same_repository(&repository, origin));
                let builds_it = !folder.is_empty()
                    && kustomization_in(repo, &folder)
                        .is_some_and(|k| kustomization_reaches(repo, &k, file));
                // Last folders alike count where the URL shares another
                // name with the file's folder: Kyverno's `policies`
                // repository's pod-security/baseline vendored as
                // policies/baseline (verify64 V64-5), not an ingress
                // controller's `base` beside policies/base (verify65 V65-4).
                let alike = !own_folder.is_empty()
                    && !folder.is_empty()
                    && last(&folder) == last(own_folder)
                    && {
                        let mine: Vec<&str> = own_folder.split('/').collect();
                        let theirs = repository
                            .split(['/', ':', '.'])
                            .chain(folder.rsplit_once('/').map_or("", |(f, _)| f).split('/'));
                        theirs
                            .filter(|s| !s.is_empty())
                            .any(|segment| mine[..mine.len() - 1].contains(&segment))
                    };
                let related = this_repository || builds_it || names_file(&folder) || alike;
                if remote && related {
                    found.push(format!("{path} ({resource})"));
                }
            }
        }
    }
    found
}

/// Whether a kustomization's `resources`/`components` entry names
/// something outside the checkout: a URL, an scp-like Git address, or a
/// hosting service's path (`github.com/org/repo//folder`).
fn is_remote_resource(resource: &str) -> bool {
    resource.contains("://")
        || resource.starts_with("git@")
        || resource.starts_with("github.com/")
        || resource.starts_with("gitlab.com/")
        || resource.starts_with("bitbucket.org/")
}

/// A remote kustomize resource split into its repository's URL and the
/// folder in it: `https://github.com/org/r//deploy/prod?ref=v1` →
/// (`https://github.com/org/r`, `deploy/prod`); `github.com/org/r/deploy`
/// → (`github.com/org/r`, `deploy`).
fn remote_parts(resource: &str) -> (String, String) {
    let bare = resource.split('?').next().unwrap_or(resource);
    let after_scheme = bare.find("://").map_or(0, |at| at + 3);
    if let Some(at) = bare[after_scheme..].find("//") {
        let split = after_scheme + at;
        return (
            bare[..split].to_string(),
            bare[split + 2..].trim_matches('/').to_string(),
        );
    }
    // host/org/repo/path…: the first three parts name the repository.
    let parts: Vec<&str> = bare[after_scheme..].splitn(4, '/').collect();
    let repository = format!(
        "{}{}",
        &bare[..after_scheme],
        parts.iter().take(3).copied().collect::<Vec<_>>().join("/")
    );
    (
        repository,
        parts.get(3).map_or("", |p| p.trim_matches('/')).to_string(),
    )
}

/// Whether the checkout's deliveries may apply other folders than their
/// written paths say (verify60 V60-1, V60-5): a Flux Kustomization or Argo
/// CD Application in a chart's templates (an app-of-apps chart), or a
/// kustomize patch of a delivery's path. Then no file is said to be
/// applied by none of them.
fn deliveries_not_read_literally(repo: &Repository) -> bool {
    repo.files.values().any(|file| {
        let delivery = ["argoproj.io/", "kustomize.toolkit.fluxcd.io/"]
            .iter()
            .any(|api| file.text.contains(api));
        let patches_path = ["/spec/path", "/spec/source/path", "/spec/sources"]
            .iter()
            .any(|pointer| file.text.contains(pointer));
        // An ApplicationSet's templatePatch may set each path (verify67
        // V67-5).
        let template_patch = file.text.contains("templatePatch");
        (file.template_of.is_some() && delivery) || patches_path || template_patch
    })
}

/// A folder a Flux Kustomization or an Argo CD source applies.
struct AppliedPath {
    /// As a repository path (`""` for the root).
    folder: String,
    /// Every manifest under it (Flux generates a kustomization of them
    /// all; Argo CD with `directory.recurse`), not its own files alone.
    recursive: bool,
    /// Argo CD `directory.include` and `directory.exclude` globs picking
    /// its files, where given.
    globs: Option<DirectoryGlobs>,
    /// Templated (an ApplicationSet's `{{path}}`): it may be any folder.
    templated: bool,
    /// A Flux Kustomization's `spec.components` entry (relative to its
    /// path), built into it.
    component: bool,
}

/// An Argo CD directory source's `include` and `exclude` globs.
#[derive(Clone, Debug)]
struct DirectoryGlobs {
    include: Option<String>,
    exclude: Option<String>,
}

impl DirectoryGlobs {
    /// Whether Argo CD applies the file at `relative` (to the source's
    /// path): not matched by `exclude`, matched by `include` where given.
    /// Argo CD matches each as one glob over the whole relative path, `*`
    /// crossing `/`, and a pattern that does not compile matches nothing
    /// (its `util/glob.Match`, gobwas/glob without separators).
    fn pick(&self, relative: &str) -> bool {
        let matches = |pattern: &str| {
            // gobwas has no POSIX classes: `[[:alpha:]]` is a class of
            // `[:alph` and a `]`, which no file name here matches
            // (verify71 V71-6); globset would read a POSIX class.
            if pattern.contains("[[:") {
                return false;
            }
            globset::GlobBuilder::new(&gobwas_pattern(pattern))
                .literal_separator(false)
                .build()
                .is_ok_and(|glob| glob.compile_matcher().is_match(relative))
        };
        !self.exclude.as_deref().is_some_and(matches) && self.include.as_deref().is_none_or(matches)
    }
}

/// `pattern` (gobwas/glob syntax, as Argo CD compiles it without
/// separators) written for globset, which reads two spellings otherwise
/// (verify70 V70-5): `**` is gobwas's `*` here (any text, `/` too), where
/// globset's `**/` may match no folder at all; a class opening with `^`
/// is negated in globset but not in gobwas (only `!` negates there), so
/// the `^` moves to the class's end, where both read it as itself.
fn gobwas_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut caret_pending = false;
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                out.push('*');
            }
            '[' if chars.peek() == Some(&'^') => {
                chars.next();
                out.push('[');
                caret_pending = true;
            }
            ']' if caret_pending => {
                out.push_str("^]");
                caret_pending = false;
            }
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// How an ApplicationSet is named among a file's builders: it applies
/// the file once per generated Application.
const EACH_APPLICATION: &str = " (each Application it generates)";

/// ... where its path stays computed: whether any of them builds the file
/// is not known.
const EACH_COMPUTED: &str =
    " (each Application it generates whose path, computed and not followed here, builds the file, if any does)";

/// Every folder the checkout's Flux Kustomizations (`spec.path`, and
/// their `spec.components`) and Argo CD Applications and ApplicationSets
/// (each source's `path`, charts aside) apply.
fn applied_paths(repo: &Repository) -> Vec<AppliedPath> {
    let mut found = Vec::new();
    for value in repo.document_values() {
        let api = api_version(value);
        if api.starts_with("kustomize.toolkit.fluxcd.io/")
            && value.get("kind").and_then(Value::as_str) == Some("Kustomization")
        {
            let spec_path = value
                .pointer("/spec/path")
                .and_then(Value::as_str)
                .unwrap_or("");
            let base = joined("", spec_path);
            found.extend(
                value
                    .pointer("/spec/components")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|component| AppliedPath {
                        folder: joined(&base, component),
                        recursive: true,
                        globs: None,
                        templated: false,
                        component: true,
                    }),
            );
            found.push(AppliedPath {
                folder: base,
                recursive: true,
                globs: None,
                // Flux substitutes `${var}` from its parent (verify60 V60-8).
                templated: spec_path.contains("{{") || spec_path.contains("${"),
                component: false,
            });
        } else if api.starts_with("argoproj.io/") {
            for source in argo_sources(value) {
                if source.get("chart").is_some() {
                    continue;
                }
                let Some(path) = source.get("path").and_then(Value::as_str) else {
                    continue;
                };
                let glob = |pointer: &str| {
                    source
                        .pointer(pointer)
                        .and_then(Value::as_str)
                        .filter(|glob| !glob.is_empty())
                        .map(str::to_string)
                };
                let (include, exclude) = (glob("/directory/include"), glob("/directory/exclude"));
                let globs = (include.is_some() || exclude.is_some())
                    .then_some(DirectoryGlobs { include, exclude });
                let recursive = source
                    .pointer("/directory/recurse")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                // An ApplicationSet's git directories generator: one
                // Application per folder its globs match (verify64 V64-12).
                if let Some(folders) = generated_paths(repo, value, path) {
                    found.extend(folders.into_iter().map(|folder| AppliedPath {
                        templated: folder.contains("{{"),
                        folder: joined("", &folder),
                        recursive,
                        globs: globs.clone(),
                        component: false,
                    }));
                    continue;
                }
                found.push(AppliedPath {
                    folder: joined("", path),
                    recursive,
                    globs,
                    templated: path.contains("{{") || path.contains("${"),
                    component: false,
                });
            }
        }
    }
    found
}

/// The paths an ApplicationSet's templated `path` takes: per folder of a
/// git directories generator ([`generated_directories`]), or per element
/// of a list generator (`{{key}}`, `{{.key}}` replaced by the element's
/// values). None for other generators, or where a placeholder is left.
fn generated_paths(repo: &Repository, value: &Value, path: &str) -> Option<Vec<String>> {
    if let Some(paths) = generated_directories(repo, value, path) {
        return Some(paths);
    }
    let generators = value
        .pointer("/spec/generators")
        .and_then(Value::as_array)?;
    let [generator] = generators.as_slice() else {
        return None;
    };
    // A selector or a generator's own template picks or reshapes the
    // Applications: not followed (verify75 V75-4).
    // (Argo CD's post selector sits beside `list:`: verify76.)
    if generator.get("template").is_some()
        || generator.get("selector").is_some()
        || generator.pointer("/list/selector").is_some()
    {
        return None;
    }
    // Argo CD appends `elementsYaml` to `elements` (verify75 V75-6).
    let mut elements: Vec<Value> = generator
        .pointer("/list/elements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(text) = generator.pointer("/list/elementsYaml") {
        let parsed: Vec<Value> = serde_yaml::from_str(text.as_str()?).ok()?;
        elements.extend(parsed);
    }
    if elements.is_empty() {
        return None;
    }
    static PLACEHOLDER: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| {
            regex::Regex::new(r"\{\{\s*\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}").ok()
        });
    let placeholder = PLACEHOLDER.as_ref()?;
    let mut paths = Vec::new();
    for element in &elements {
        let mut missing = false;
        let rendered =
            placeholder.replace_all(path, |captures: &regex::Captures<'_>| {
                match element.get(&captures[1]).and_then(Value::as_str) {
                    Some(text) => text.to_string(),
                    None => {
                        missing = true;
                        String::new()
                    }
                }
            });
        if missing || rendered.contains("{{") {
            return None;
        }
        paths.push(rendered.into_owned());
    }
    Some(paths)
}

/// The paths an ApplicationSet's template `path` (`{{path}}`,
/// `{{.path.path}}`, perhaps with more around it) takes for each folder of
/// the checkout its git directories generator matches (`directories`,
/// `exclude: true` entries taken out; Argo CD matches them as path
/// globs, `*` within one folder). None for another generator, a template
/// path without the placeholder, or globs that do not read.
fn generated_directories(repo: &Repository, value: &Value, path: &str) -> Option<Vec<String>> {
    // `{{path}}`, `{{path.path}}`, `{{path.basename}}` (and `{{.path…}}`
    // of goTemplate): the folder, or its last segment (verify74 V74-8).
    // `{{path[1]}}` and goTemplate's `{{index .path.segments 1}}` a
    // segment, `{{path.basenameNormalized}}` the basename as a name
    // (verify75 V75-5).
    static PLACEHOLDER: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(
        || {
            regex::Regex::new(
            r"\{\{\s*(?:\.?path(?:\.(path|basename|basenameNormalized)|\[(\d+)\])?|index\s+\.path\.segments\s+(\d+))\s*\}\}",
        )
        .ok()
        },
    );
    let placeholder = PLACEHOLDER.as_ref()?;
    if value.get("kind").and_then(Value::as_str) != Some("ApplicationSet")
        || !placeholder.is_match(path)
    {
        return None;
    }
    let generators = value
        .pointer("/spec/generators")
        .and_then(Value::as_array)?;
    // A selector or a generator's own template picks or reshapes the
    // Applications: not followed (verify75 V75-4, verify76).
    if generators
        .iter()
        .any(|g| g.get("selector").is_some() || g.get("template").is_some())
    {
        return None;
    }
    let directories: Vec<&Value> = generators
        .iter()
        .filter_map(|generator| generator.pointer("/git/directories")?.as_array())
        .flatten()
        .collect();
    if directories.is_empty() {
        return None;
    }
    let set = |exclude: bool| -> Option<globset::GlobSet> {
        let mut builder = globset::GlobSetBuilder::new();
        for directory in &directories {
            if directory
                .get("exclude")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                == exclude
            {
                let glob = directory.get("path").and_then(Value::as_str)?;
                builder.add(
                    globset::GlobBuilder::new(glob.trim_end_matches('/'))
                        .literal_separator(true)
                        .build()
                        .ok()?,
                );
            }
        }
        builder.build().ok()
    };
    let (included, excluded) = (set(false)?, set(true)?);
    let mut folders: BTreeSet<String> = BTreeSet::new();
    for file in repo.files.keys() {
        let mut folder = file.as_str();
        while let Some((parent, _)) = folder.rsplit_once('/') {
            folders.insert(parent.to_string());
            folder = parent;
        }
    }
    Some(
        folders
            .into_iter()
            .filter(|folder| included.is_match(folder) && !excluded.is_match(folder))
            .map(|folder| {
                let basename = folder.rsplit('/').next().unwrap_or("").to_string();
                let segments: Vec<&str> = folder.split('/').collect();
                placeholder
                    .replace_all(path, |captures: &regex::Captures<'_>| {
                        let segment = captures.get(2).or(captures.get(3));
                        if let Some(index) = segment {
                            // A segment past the end stays computed.
                            return index
                                .as_str()
                                .parse::<usize>()
                                .ok()
                                .and_then(|i| segments.get(i))
                                .map_or_else(|| captures[0].to_string(), |s| s.to_string());
                        }
                        match captures.get(1).map(|m| m.as_str()) {
                            Some("basename") => basename.clone(),
                            // Argo CD's name form: lower case, `-` for
                            // what a name may not hold.
                            // Trimmed of `-` and `.` at its ends, at most
                            // 253 characters (verify77 V77-6).
                            Some("basenameNormalized") => basename
                                .to_lowercase()
                                .chars()
                                .map(|c| {
                                    if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                                        c
                                    } else {
                                        '-'
                                    }
                                })
                                .collect::<String>()
                                .trim_matches(|c| c == '-' || c == '.')
                                .chars()
                                .take(253)
                                .collect(),
                            _ => folder.clone(),
                        }
                    })
                    .into_owned()
            })
            .collect::<Vec<_>>(),
    )
    // A placeholder left (a segment past the end: verify77 V77-5) leaves
    // the path computed.
    .filter(|paths| !paths.iter().any(|path| path.contains("{{")))
}

/// Whether a plain manifest is applied by what the checkout holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Delivery {
    /// No Flux Kustomization or Argo CD Application is in the checkout.
    NothingHere,
    /// Some are, and none applies the file: the folders they apply.
    Elsewhere(Vec<String>),
}

/// How `file` (a plain manifest: None for a chart's file or a values file,
/// and where something here applies it) is delivered: a Flux
/// Kustomization applies its `spec.path` — the kustomization file there
/// and what it reaches, else every manifest under it; an Argo CD source
/// its `path` likewise (a plain directory: its own files, or all under it
/// with `directory.recurse`); a templated path (an ApplicationSet's) may
/// be any folder.
fn delivery_of(repo: &Repository, file: &str) -> Option<Delivery> {
    if longest_root(file, &repo.charts).is_some() || is_values_file(file) {
        return None;
    }
    let folder_of = |path: &str| path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    let mut applied: Vec<String> = Vec::new();
    let mut applies = false;
    for path in applied_paths(repo) {
        let folder = path.folder;
        // A templated path may be any folder under its literal start
        // (verify61 V61-4: `policies/${cluster}` reaches no `legacy/`).
        let literal_start = |folder: &str| {
            let cut = folder
                .find("{{")
                .into_iter()
                .chain(folder.find("${"))
                .min()
                .unwrap_or(folder.len());
            folder[..cut]
                .rsplit_once('/')
                .map_or("", |(dir, _)| dir)
                .to_string()
        };
        applies |= (path.templated && {
            let start = literal_start(&folder);
            let under = |p: &str| start.is_empty() || p.starts_with(&format!("{start}/"));
            // Or a kustomization under it reaching the file, `../` and all
            // (verify62 V62-5).
            under(file)
                || repo.files.keys().any(|k| {
                    is_kustomization_file(k) && under(k) && kustomization_reaches(repo, k, file)
                })
        }) || if path.recursive || kustomization_in(repo, &folder).is_some() {
            folder_builds(repo, &folder, file)
        } else {
            // A plain directory without recurse: its own files.
            folder_of(file) == folder
        };
        applied.push(if folder.is_empty() {
            ".".to_string()
        } else {
            folder
        });
    }
    if applies || deliveries_not_read_literally(repo) {
        return None;
    }
    applied.sort();
    applied.dedup();
    Some(if applied.is_empty() {
        Delivery::NothingHere
    } else {
        Delivery::Elsewhere(applied)
    })
}

/// The names kustomize reads its file by (verify53 k4: all three).
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether `path` is named as a kustomization file.
fn is_kustomization_file(path: &str) -> bool {
    KUSTOMIZATION_FILES.contains(&path.rsplit('/').next().unwrap_or(path))
}

/// The kustomization file in `folder`, if the repository holds one.
fn kustomization_in(repo: &Repository, folder: &str) -> Option<String> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| joined(folder, name))
        .find(|path| repo.files.contains_key(path))
}

/// What a kustomization file (`entry`, in folder `dir`) lists under
/// `resources`, `bases` and `components`, as repository paths.
fn kustomization_targets(entry: &repository::File, dir: &str) -> Vec<String> {
    entry
        .documents
        .iter()
        .filter_map(|d| d.value.as_ref())
        .flat_map(|value| {
            ["resources", "bases", "components"]
                .into_iter()
                .filter_map(|key| value.get(key)?.as_array())
                .flatten()
                .filter_map(Value::as_str)
                .map(|resource| joined(dir, resource))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether the transformations of kustomization file `kustomization`
/// (its patches, name prefixes, namespace, transformers) apply to `file`:
/// it reaches the file ([`kustomization_reaches`]), or it is a Component a
/// kustomization applying to the file lists in `components` (a Component
/// transforms what the kustomization including it builds: verify60 V60-3),
/// or one a Flux Kustomization building the file lists in
/// `spec.components`, or an Argo CD source building it in
/// `kustomize.components`.
fn kustomization_applies_to(repo: &Repository, kustomization: &str, file: &str) -> bool {
    let mut pending = vec![kustomization.to_string()];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(current) = pending.pop() {
        if !seen.insert(current.clone()) {
            continue;
        }
        if kustomization_reaches(repo, &current, file) {
            return true;
        }
        let folder = current.rsplit_once('/').map_or("", |(dir, _)| dir);
        // Who lists this one's folder as a component.
        for (path, entry) in &repo.files {
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
                let api = api_version(value);
                // (its components, the folder they are relative to): a
                // kustomization's, a Flux Kustomization's, each Argo CD
                // source's `kustomize.components` (verify64 V64-1).
                let listings: Vec<(Option<&Value>, String)> = if is_kustomization_file(path) {
                    vec![(value.get("components"), dir.to_string())]
                } else if api.starts_with("kustomize.toolkit.fluxcd.io/") {
                    vec![(
                        value.pointer("/spec/components"),
                        joined(
                            "",
                            value
                                .pointer("/spec/path")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                        ),
                    )]
                } else if api.starts_with("argoproj.io/") {
                    argo_sources(value)
                        .into_iter()
                        .map(|source| {
                            (
                                source.pointer("/kustomize/components"),
                                joined(
                                    "",
                                    source.get("path").and_then(Value::as_str).unwrap_or(""),
                                ),
                            )
                        })
                        .collect()
                } else {
                    continue;
                };
                for (components, base) in listings {
                    let lists = components
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .any(|component| joined(&base, component) == folder);
                    if !lists {
                        continue;
                    }
                    if is_kustomization_file(path) {
                        pending.push(path.clone());
                    } else if folder_builds(repo, &base, file) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// Whether what Flux (or kustomize, or Argo CD with `directory.recurse`)
/// builds of `folder` holds `file`: what the kustomization file there
/// reaches, else every manifest under the folder (Flux generates a
/// kustomization of them all).
fn folder_builds(repo: &Repository, folder: &str, file: &str) -> bool {
    match kustomization_in(repo, folder) {
        Some(kustomization) => kustomization_reaches(repo, &kustomization, file),
        None => folder.is_empty() || file.starts_with(&format!("{folder}/")),
    }
}

/// Whether the kustomization file `kustomization` reaches `file` through
/// its `resources`, `bases` or `components`, and theirs, at any depth.
fn kustomization_reaches(repo: &Repository, kustomization: &str, file: &str) -> bool {
    reaches_through(repo, kustomization, file, false)
}

/// Whether the patches of the deliveries in `entry` (a Flux
/// Kustomization's `spec.patches`, an Argo CD source's
/// `kustomize.patches`) may reach one of `files`: its path builds one, or
/// is computed (`${…}`, `{{…}}`). A HelmRelease's post-renderers, or a
/// file holding none of these, may (not scoped here).
fn delivery_patches_reach(repo: &Repository, entry: &repository::File, files: &[&str]) -> bool {
    let reaches = |folder: &str| {
        folder.contains("${")
            || folder.contains("{{")
            || files
                .iter()
                .any(|file| folder_builds(repo, &joined("", folder), file))
    };
    let mut scoped = false;
    for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
        let api = api_version(value);
        if value.pointer("/spec/postRenderers").is_some() {
            return true;
        }
        if api.starts_with("kustomize.toolkit.fluxcd.io/")
            && value.pointer("/spec/patches").is_some()
        {
            scoped = true;
            if reaches(
                value
                    .pointer("/spec/path")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ) {
                return true;
            }
        } else if api.starts_with("argoproj.io/") {
            for source in argo_sources(value) {
                if source.pointer("/kustomize/patches").is_some() {
                    scoped = true;
                    if reaches(source.get("path").and_then(Value::as_str).unwrap_or("")) {
                        return true;
                    }
                }
            }
        }
    }
    !scoped
}

/// [`kustomization_reaches`], where a folder listed without a
/// kustomization file of its own (which kustomize refuses to build) also
/// counts as reaching every file under it: for a patch that may set the
/// action, a build that may not even work still counts.
fn loosely_reaches(repo: &Repository, kustomization: &str, file: &str) -> bool {
    reaches_through(repo, kustomization, file, true)
}

/// [`kustomization_reaches`], and with `loose` [`loosely_reaches`].
fn reaches_through(repo: &Repository, kustomization: &str, file: &str, loose: bool) -> bool {
    let mut pending = vec![kustomization.to_string()];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
        let Some(entry) = repo.files.get(&path) else {
            continue;
        };
        // A chart kustomize inflates from the checkout (`helmCharts`
        // without a pulled copy) renders its folder (verify72 V72-3).
        if inflates_file(repo, entry, &dir, file) {
            return true;
        }
        for target in kustomization_targets(entry, &dir) {
            if target == file {
                return true;
            }
            match kustomization_in(repo, &target) {
                Some(inner) => pending.push(inner),
                None if loose && (target.is_empty() || file.starts_with(&format!("{target}/"))) => {
                    return true
                }
                None => {}
            }
        }
    }
    false
}

/// The `helmCharts` entries of a kustomization document (`value`, in
/// `dir`) kustomize inflates from the checkout, each with its chart
/// folder: `<chartHome>/<name>` (chartHome `charts` by default, through
/// links) where that folder holds a chart. kustomize pulls a chart only
/// when its folder is missing, so a `repo` alone does not change this; a
/// `repo` with a `version` reads `<name>-<version>/<name>` (verify69
/// V69-4, verify71 V71-5, V71-7, verify72 V72-3, verify74 V74-3).
fn local_helm_charts<'a>(
    repo: &Repository,
    value: &'a Value,
    dir: &str,
) -> Vec<(&'a Value, String)> {
    let home = value
        .pointer("/helmGlobals/chartHome")
        .and_then(Value::as_str)
        .unwrap_or("charts");
    value
        .get("helmCharts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|chart| {
            let text = |key: &str| {
                chart
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
            };
            let name = text("name")?;
            // A versioned chart from a repository has its own
            // `<name>-<version>/<name>` folder (kustomize 5), committed
            // or pulled (verify74 V74-3).
            let relative = match (text("repo"), text("version")) {
                (Some(_), Some(version)) => format!("{name}-{version}/{name}"),
                _ => name.to_string(),
            };
            let folder = resolved(repo, &joined(&joined(dir, home), &relative));
            repo.charts.contains(&folder).then_some((chart, folder))
        })
        .collect()
}

/// The chart holding `file` where Helm may not render it: outside the
/// chart's templates/ and crds/ (and not its values or Chart.yaml), not
/// applied as plain YAML, and read by no template through `.Files` — a
/// call whose argument is a literal path or glob matches it (Helm's
/// `Files.Glob`, `/` a separator), one whose argument is not a literal
/// may read anything.
fn unread_chart_file<'a>(repo: &'a Repository, file: &str) -> Option<&'a str> {
    let root = longest_root(file, &repo.charts)?;
    let chart_file = file
        .rsplit('/')
        .next()
        .is_some_and(|name| matches!(name, "Chart.yaml" | "Chart.lock" | "requirements.yaml"));
    if is_values_file(file)
        || chart_file
        || chart_renders(root, file, true)
        || applied_plain(repo, file)
    {
        return None;
    }
    (!chart_uses(repo, root, file)).then_some(root)
}

/// Whether the chart at `root` uses `file`: renders it (templates/, crds/)
/// or reads it in a template through `.Files` — a literal path or glob
/// that matches it, or a path held in a variable the template's
/// `.Files.Glob` gives (Helm's `Files.Glob`, `/` a separator); a
/// variable with no glob in the template may read anything.
fn chart_uses(repo: &Repository, root: &str, file: &str) -> bool {
    // A `.Files` call and its argument: a literal, or a variable.
    static FILES_CALL: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\.Files\.(\w+)(?:\s+(?:"([^"]*)"|(\$\w+)))?"#).ok()
    });
    // `range $path, $_ := .Files.Glob "…"`: the variable and its glob.
    static RANGE_GLOB: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"range\s+(\$\w+)\s*,\s*\$\w*\s*:=\s*\$?\.Files\.Glob\s+"([^"]*)""#).ok()
    });
    static COMMENT: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(?s)\{\{-?\s*/\*.*?\*/\s*-?\}\}").ok());
    if chart_renders(root, file, true) {
        return true;
    }
    let relative = if root.is_empty() {
        file
    } else {
        file.strip_prefix(&format!("{root}/")).unwrap_or(file)
    };
    let (Some(calls), Some(ranges)) = (FILES_CALL.as_ref(), RANGE_GLOB.as_ref()) else {
        return true;
    };
    // Helm's Files.Glob: gobwas with `/` a separator (`*` stays in a
    // folder, `**` crosses them: verify77 V77-2, V77-4).
    let matches = |pattern: &str| helm_glob(pattern).is_none_or(|glob| glob.is_match(relative));
    repo.files
        .iter()
        .filter(|(path, _)| chart_renders(root, path, false))
        .any(|(_, entry)| {
            // Comments read nothing (verify75 V75-7).
            let text = match COMMENT.as_ref() {
                Some(comment) => comment.replace_all(&entry.text, "").into_owned(),
                None => entry.text.clone(),
            };
            // `.Files` held as a value (`$f := .Files`, `with .Files`)
            // may read anything (verify77 V77-3).
            if text.matches(".Files").count() > text.matches(".Files.").count() {
                return true;
            }
            let ranged: BTreeMap<String, String> = ranges
                .captures_iter(&text)
                .map(|range| (range[1].to_string(), range[2].to_string()))
                .collect();
            calls.captures_iter(&text).any(|call| {
                match (call.get(2), call.get(3)) {
                    (Some(literal), _) => matches(literal.as_str()),
                    // A variable its range over a Glob gives: that glob
                    // (verify75 V75-7); any other may hold any path
                    // (verify77 V77-1).
                    (None, Some(variable)) => ranged
                        .get(variable.as_str())
                        .is_none_or(|glob| matches(glob)),
                    // A computed argument (`.Values.x`, `printf …`).
                    (None, None) => &call[1] != "Glob",
                }
            })
        })
}

/// Helm's `Files.Glob` pattern (gobwas/glob with `/` a separator) as a
/// regular expression over a chart-relative path: `*` and `?` stay in a
/// folder, `**` crosses folders, `[…]` (`!` negating) and `{a,b}` as
/// gobwas reads them. None where the pattern does not read.
fn helm_glob(pattern: &str) -> Option<regex::Regex> {
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut braces = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(".*");
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    out.push('^');
                }
                loop {
                    match chars.next()? {
                        ']' => break,
                        '\\' => {
                            out.push('\\');
                            out.push(chars.next()?);
                        }
                        '^' => out.push_str("\\^"),
                        '[' => out.push_str("\\["),
                        other => out.push(other),
                    }
                }
                out.push(']');
            }
            '{' => {
                braces += 1;
                out.push_str("(?:");
            }
            '}' if braces > 0 => {
                braces -= 1;
                out.push(')');
            }
            ',' if braces > 0 => out.push('|'),
            '\\' => out.push_str(&regex::escape(&chars.next()?.to_string())),
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    if braces > 0 {
        return None;
    }
    out.push('$');
    regex::Regex::new(&out).ok()
}

/// Whether what a Flux Kustomization builds of `folder` inflates a chart
/// rendering `file` with kustomize `helmCharts`: the kustomization there,
/// or (without one) those Flux's generated kustomization takes in from
/// its subfolders, and every kustomization they reach (verify74 V74-1,
/// V74-2).
fn flux_inflates(repo: &Repository, folder: &str, file: &str) -> bool {
    let mut pending: Vec<String> = match kustomization_in(repo, folder) {
        Some(kustomization) => vec![kustomization],
        // Flux's generated kustomization takes in each subfolder's
        // kustomization and goes no deeper below it (verify75 V75-3).
        None => {
            let under: Vec<&String> = repo
                .files
                .keys()
                .filter(|path| {
                    is_kustomization_file(path)
                        && (folder.is_empty() || path.starts_with(&format!("{folder}/")))
                })
                .collect();
            let dir_of = |path: &str| path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
            under
                .iter()
                .filter(|path| {
                    let dir = dir_of(path);
                    !under.iter().any(|other| {
                        let above = dir_of(other);
                        above != dir && dir.starts_with(&format!("{above}/"))
                    })
                })
                .map(|path| (*path).clone())
                .collect()
        }
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some(entry) = repo.files.get(&path) else {
            continue;
        };
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
        if inflates_file(repo, entry, &dir, file) {
            return true;
        }
        for target in kustomization_targets(entry, &dir) {
            if let Some(inner) = kustomization_in(repo, &target) {
                pending.push(inner);
            }
        }
    }
    false
}

/// Whether a Flux Kustomization or an Argo CD directory source (not a
/// chart's folder) applies `file` as plain YAML: a repository whose root
/// is a chart holds plain manifests too, which are not Helm's to render.
fn applied_plain(repo: &Repository, file: &str) -> bool {
    let parent = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    applied_paths(repo).iter().any(|applied| {
        let folder = &applied.folder;
        let relative = if folder.is_empty() {
            file
        } else {
            file.strip_prefix(&format!("{folder}/")).unwrap_or(file)
        };
        let walked = match kustomization_in(repo, folder) {
            // kustomize, unless it reaches the file by inflating its
            // chart (verify75 V75-2).
            Some(_) => folder_builds(repo, folder, file) && !flux_inflates(repo, folder, file),
            // A directory: all of it (Flux), or as Argo CD walks it.
            None => {
                folder_builds(repo, folder, file)
                    && (applied.recursive || parent == folder.as_str())
                    && applied
                        .globs
                        .as_ref()
                        .is_none_or(|globs| globs.pick(relative))
            }
        };
        !applied.component && !repo.charts.contains(&resolved(repo, folder)) && walked
    })
}

/// Whether Helm renders `file` from the chart at `chart`: a file of its
/// `templates/`, or of its `crds/` with `crds`, or the same in a subchart
/// under its `charts/`. Helm renders nothing else of a chart (a file
/// under `files/` only through a template's `.Files`).
fn chart_renders(chart: &str, file: &str, crds: bool) -> bool {
    let relative = if chart.is_empty() {
        file
    } else {
        match file.strip_prefix(&format!("{chart}/")) {
            Some(relative) => relative,
            None => return false,
        }
    };
    let mut segments = relative.split('/').peekable();
    // Past any `charts/<subchart>/` levels.
    loop {
        match segments.next() {
            Some("charts") if segments.peek().is_some() => {
                segments.next();
            }
            Some("templates") => return segments.peek().is_some(),
            Some("crds") => return crds && segments.peek().is_some(),
            _ => return false,
        }
    }
}

/// Whether the kustomization file `entry` (in `dir`) inflates, with
/// `helmCharts`, a chart of the checkout that renders `file`: its
/// templates, and its crds/ with `includeCRDs` (verify72 V72-3, verify73
/// V73-5).
fn inflates_file(repo: &Repository, entry: &repository::File, dir: &str, file: &str) -> bool {
    entry
        .documents
        .iter()
        .filter_map(|d| d.value.as_ref())
        .flat_map(|value| local_helm_charts(repo, value, dir))
        .any(|(chart, folder)| {
            let crds = chart.get("includeCRDs").and_then(Value::as_bool) == Some(true);
            chart_renders(&folder, file, crds)
        })
}

/// The chart folders a kustomization file (`entry`, in `dir`) inflates
/// from the checkout ([`local_helm_charts`]).
fn inflated_charts(repo: &Repository, entry: &repository::File, dir: &str) -> Vec<String> {
    let mut found = Vec::new();
    for value in entry.documents.iter().filter_map(|d| d.value.as_ref()) {
        for (_, folder) in local_helm_charts(repo, value, dir) {
            if !found.contains(&folder) {
                found.push(folder);
            }
        }
    }
    found
}

/// What the change sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Enforce,
    Audit,
}

/// Which words an action field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Words {
    /// Kyverno's `Enforce` / `Audit`.
    Kyverno,
    /// `validationActions`' `Deny` / `Audit`.
    Cel,
}

impl Words {
    fn word(self, target: Target) -> &'static str {
        match (self, target) {
            (Words::Kyverno, Target::Enforce) => "Enforce",
            (Words::Cel, Target::Enforce) => "Deny",
            (_, Target::Audit) => "Audit",
        }
    }
}

/// How the value is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    /// `field: Audit` (or a values key).
    Scalar { line: usize, value: Range<usize> },
    /// `field: [Audit]`.
    FlowList { line: usize, value: Range<usize> },
    /// `field:` then `- Audit` lines.
    BlockList { items: Vec<(usize, Range<usize>)> },
}

/// How an edited file is read back: the document (by position in the
/// file) and the JSON pointer of the value in it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Check {
    document: usize,
    pointer: String,
}

/// One place that sets the action.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    file: String,
    form: Form,
    words: Words,
    /// For the reader: `spec.validationFailureAction`.
    field: String,
    /// None for a Helm template, which is not YAML until rendered.
    check: Option<Check>,
}

impl Setting {
    fn first_line(&self) -> usize {
        match &self.form {
            Form::Scalar { line, .. } | Form::FlowList { line, .. } => *line,
            Form::BlockList { items } => items.first().map(|(line, _)| *line).unwrap_or(0),
        }
    }

    fn describe(&self) -> String {
        format!("{}:{} {}", self.file, self.first_line() + 1, self.field)
    }
}

struct Located {
    settings: Vec<Setting>,
    notes: Vec<String>,
    /// Other documents reading the same values key ([`other_readers`]).
    readers: Vec<Reader>,
    /// Rules Git's plain document enforces already.
    git_enforced: Vec<String>,
    /// Whether a setting is a Helm template's line or a values key, which
    /// other policies may be made from (another release's namespace,
    /// another chart reading the key).
    templated: bool,
}

/// Another document the patch switches too: a template reading the same
/// values key. `kind` and `name` when the document says them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// Its kind and name, when known.
    pub identity: Option<(String, String)>,
    /// `file:line`.
    pub place: String,
}

impl Reader {
    /// `Kind name (file:line)`, or `file:line`.
    pub fn describe(&self) -> String {
        match &self.identity {
            Some((kind, name)) => format!("{kind} {name} ({})", self.place),
            None => self.place.clone(),
        }
    }
}

/// What a document is to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The policy itself.
    Policy,
    /// A ValidatingAdmissionPolicyBinding of it.
    Binding,
}

/// The API group a kind of `polscan evidence` belongs to: another
/// group's kind of the same name (NVIDIA's `ClusterPolicy`) is not it.
fn group_of(kind: &str) -> &'static str {
    match kind {
        "ClusterPolicy" | "Policy" => "kyverno.io",
        "ValidatingPolicy" | "NamespacedValidatingPolicy" => "policies.kyverno.io",
        _ => "admissionregistration.k8s.io",
    }
}

/// Whether a document's apiVersion is of `kind`'s group; one left out or
/// templated is given the benefit of the doubt.
fn group_fits(kind: &str, api_version: Option<&str>) -> bool {
    match api_version {
        None => true,
        Some(written) if written.contains("{{") => true,
        Some(written) => written.split_once('/').map(|(group, _)| group) == Some(group_of(kind)),
    }
}

fn role(policy: &PolicyRef<'_>, identity: &repository::Identity) -> Option<Role> {
    let repository::Identity {
        api_version,
        kind,
        name,
        namespace,
        policy_name,
    } = identity;
    let (kind, name, namespace, policy_name) = (
        kind.as_str(),
        name.as_str(),
        namespace.as_deref(),
        policy_name.as_deref(),
    );
    if !group_fits(kind, api_version.as_deref()) {
        return None;
    }
    // A namespace left out (kustomize's `namespace:` sets it) or templated
    // (Helm's release namespace) does not tell another policy apart.
    let namespace_fits = match (policy.namespace, namespace) {
        (Some(want), Some(got)) => got == want || got.contains("{{"),
        _ => true,
    };
    if kind == policy.kind && name == policy.name && namespace_fits {
        return Some(Role::Policy);
    }
    (policy.kind == "ValidatingAdmissionPolicy"
        && kind == "ValidatingAdmissionPolicyBinding"
        && policy_name == Some(policy.name))
    .then_some(Role::Binding)
}

/// A site: a document of the policy (or of a binding), its lines and
/// entries.
struct Site<'a> {
    file: &'a str,
    /// The document's first line in the file.
    start: usize,
    index: usize,
    lines: Vec<&'a str>,
    entries: &'a [Entry],
    value: Option<&'a Value>,
    template: Option<&'a str>,
    role: Role,
    name: &'a str,
    /// Its `metadata.namespace` as written, if any.
    namespace: Option<&'a str>,
}

fn locate(
    repo: &Repository,
    policy: &PolicyRef<'_>,
    environment_values: &[String],
    cluster_bindings: Option<&BTreeSet<&str>>,
) -> Result<Located, String> {
    let mut sites: Vec<Site<'_>> = Vec::new();
    for (path, file) in &repo.files {
        for document in &file.documents {
            let Some(identity) = &document.identity else {
                continue;
            };
            let Some(role) = role(policy, identity) else {
                continue;
            };
            sites.push(Site {
                file: path,
                start: document.lines.start,
                index: document.index,
                lines: file.lines(document),
                entries: &document.entries,
                value: document.value.as_ref(),
                template: file.template_of.as_deref(),
                role,
                name: &identity.name,
                namespace: identity.namespace.as_deref(),
            });
        }
    }
    // A copy in a test's folder (a Kyverno CLI test's or a Chainsaw
    // test's) that nothing in the checkout delivers, beside one copy that
    // is not, is not the cluster's: left alone, and said (verify80 V80-3:
    // every such repository was refused). Only a test's: a copy merely
    // undelivered here may be the cluster's, delivered from another
    // repository (verify60 w1: prod's copy, with only staging's delivery
    // in the checkout).
    // Decided once per site, and only where a name has several copies:
    // a single copy is never set aside, and `delivery_of` walks the
    // deliveries (asked of every policy beside its Kyverno test, it
    // doubled `evidence --policy-repo`'s time on the policy library).
    fn key_of<'s>(site: &Site<'s>) -> (bool, &'s str) {
        (site.role == Role::Binding, site.name)
    }
    let mut copies: BTreeMap<(bool, &str), usize> = BTreeMap::new();
    for site in &sites {
        *copies.entry(key_of(site)).or_default() += 1;
    }
    // Per site, whether it is a test's copy nothing here applies: the
    // cheap folder test first, the deliveries only for a test's folder.
    let test_copies: Vec<bool> = sites
        .iter()
        .map(|site| {
            copies[&key_of(site)] > 1
                && in_a_test_folder(repo, site.file)
                && delivery_of(repo, site.file).is_some()
        })
        .collect();
    let mut copies_left: Vec<String> = Vec::new();
    let mut set_aside: BTreeSet<(bool, &str)> = BTreeSet::new();
    for (&key, &count) in &copies {
        let of_key = || {
            sites
                .iter()
                .zip(&test_copies)
                .filter(move |(site, _)| key_of(site) == key)
        };
        let left = of_key().filter(|(_, test_copy)| **test_copy).count();
        if left == 0 || count - left != 1 {
            continue;
        }
        // The copy left must be one a delivery here applies (verify81
        // T1: with no delivery in the checkout, a stale copy was patched).
        let kept_applied = of_key()
            .filter(|(_, test_copy)| !**test_copy)
            .all(|(site, _)| delivery_of(repo, site.file).is_none());
        if kept_applied {
            copies_left.extend(
                of_key()
                    .filter(|(_, test_copy)| **test_copy)
                    .map(|(site, _)| format!("{}:{}", site.file, site.start + 1)),
            );
            set_aside.insert(key);
        }
    }
    let mut test_copies = test_copies.into_iter();
    sites.retain(|site| {
        let test_copy = test_copies.next().unwrap_or(false);
        !(test_copy && set_aside.contains(&key_of(site)))
    });
    // Each document exactly once: two copies (a base and an overlay, two
    // charts) leave open which one the cluster gets.
    let mut by_document: BTreeMap<(bool, &str), Vec<&Site<'_>>> = BTreeMap::new();
    for site in &sites {
        by_document
            .entry((site.role == Role::Binding, site.name))
            .or_default()
            .push(site);
    }
    for ((binding, name), copies) in &by_document {
        if copies.len() > 1 {
            let places: Vec<String> = copies
                .iter()
                .map(|s| format!("{}:{}", s.file, s.start + 1))
                .collect();
            return Err(format!(
                "{} {name} is written in several places ({}): which one the cluster gets is not known here, so no patch is made; change the action by hand",
                if *binding {
                    "ValidatingAdmissionPolicyBinding"
                } else {
                    policy.kind
                },
                places.join(", ")
            ));
        }
    }
    let mut targets: Vec<&Site<'_>> = sites
        .iter()
        .filter(|s| (policy.kind == "ValidatingAdmissionPolicy") == (s.role == Role::Binding))
        .collect();
    // A binding per environment (verify63 V63-4): where Git holds every
    // binding this cluster has, by name, the others are other
    // environments' — left alone, and said.
    let mut other_bindings: Vec<String> = Vec::new();
    if let Some(names) = cluster_bindings.filter(|names| {
        !names.is_empty() && names.iter().all(|n| targets.iter().any(|t| t.name == *n))
    }) {
        let (ours, others): (Vec<&Site<'_>>, Vec<&Site<'_>>) =
            targets.into_iter().partition(|t| names.contains(t.name));
        targets = ours;
        other_bindings = others
            .iter()
            .map(|s| format!("{} ({}:{})", s.name, s.file, s.start + 1))
            .collect();
    }
    if targets.is_empty() {
        // Held in a `kind: List` (verify78 F3: "not found" of a policy
        // that is there): said, and not edited.
        let listed = list_items(repo, |item| {
            let text = |pointer: &str| item.pointer(pointer).and_then(Value::as_str);
            if policy.kind == "ValidatingAdmissionPolicy" {
                text("/kind") == Some("ValidatingAdmissionPolicyBinding")
                    && text("/spec/policyName") == Some(policy.name)
            } else {
                text("/kind") == Some(policy.kind)
                    && text("/metadata/name") == Some(policy.name)
                    && text("/metadata/namespace").is_none_or(|n| Some(n) == policy.namespace)
            }
        });
        if !listed.is_empty() {
            return Err(format!(
                "{} {} is an item of a List ({}): polscan does not edit a List's items; change the action there by hand",
                if policy.kind == "ValidatingAdmissionPolicy" {
                    "the binding of"
                } else {
                    policy.kind
                },
                policy.name,
                listed.join(", ")
            ));
        }
        return Err(if policy.kind == "ValidatingAdmissionPolicy" {
            format!("no ValidatingAdmissionPolicyBinding with spec.policyName {} was found in the repository (its action is on its bindings)", policy.name)
        } else {
            // A renaming build may make it from a document of another
            // name (verify57 V57-2): said, lest the user look for a file.
            let renamed: Vec<String> = renamers(repo)
                .into_iter()
                .filter_map(|(renamer, _)| {
                    let base = policy
                        .name
                        .strip_prefix(renamer.prefix.as_str())?
                        .strip_suffix(renamer.suffix.as_str())?;
                    // A namespace setter makes this policy only by its
                    // namespace.
                    let made_here = renamer.renames()
                        || (policy.namespace.is_some()
                            && policy.namespace == Some(renamer.namespace.as_str()));
                    (!base.is_empty() && made_here).then(|| {
                        format!(
                            "the {} named {base}, by {}",
                            policy.kind,
                            renamer.describe()
                        )
                    })
                })
                .collect();
            let mut problem = format!(
                "no {} named {} was found in the YAML or JSON files read (every file of the checkout --policy-repo is in; a name a Helm template computes is not followed)",
                policy.kind, policy.name
            );
            if !renamed.is_empty() {
                problem.push_str(&format!(
                    "; it may be built from {}: polscan patches no copy a build renames or moves — switch the action where it is built (a kustomize patch), or by hand",
                    renamed.join("; ")
                ));
            }
            // Kyverno's policy library is installed as a chart from its
            // Helm repository (verify64 V64-14): named, with where its
            // action is set.
            let charts = published_charts(repo);
            if !charts.is_empty() {
                problem.push_str(&format!(
                    "; it may come from a chart installed from a Helm repository, whose templates are not in the checkout ({}): switch it through that release's values (a chart-wide value such as validationFailureAction switches every policy of the chart), or by hand",
                    charts.join("; ")
                ));
            }
            problem
        });
    }
    let names: Vec<&str> = targets.iter().map(|site| site.name).collect();
    let kinds: Vec<&str> = if policy.kind == "ValidatingAdmissionPolicy" {
        vec![policy.kind, "ValidatingAdmissionPolicyBinding"]
    } else {
        vec![policy.kind]
    };
    let files: Vec<&str> = targets.iter().map(|site| site.file).collect();
    // Whether an action is set in a rule (`validate.failureAction`), so
    // that a patch restating the rules may drop it; a template's, not yet
    // YAML, may be.
    let rule_level = targets.iter().any(|site| {
        site.value.is_none_or(|value| {
            value
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .is_some_and(|rules| {
                    rules
                        .iter()
                        .any(|rule| rule.pointer("/validate/failureAction").is_some())
                })
        })
    });
    if let Some(kustomizations) =
        kustomize_patches_of(repo, &names, &kinds, Some(&files), true, rule_level)
    {
        return Err(format!(
            "{} may patch the action of {} (a kustomize patch or replacement selects it and writes an action field, or copies its action elsewhere): the patch of the base would not be what the cluster gets; change the action by hand",
            kustomizations.join(", "),
            names.join(", ")
        ));
    }
    for file in &files {
        let releases = crds_not_upgraded(repo, file);
        if !releases.is_empty() {
            return Err(format!(
                "{file} is in its chart's crds/ folder, which Helm installs but never upgrades, and {} {} the chart leaving crds/ alone on upgrade (a HelmRelease without spec.upgrade.crds: CreateReplace, helm-controller's default being Skip; an Argo CD source with helm.skipCrds; kustomize helmCharts without includeCRDs): the patch would not reach what is installed; move the policy into templates/, or switch it by hand",
                releases.join(", "),
                if releases.len() == 1 { "releases" } else { "release" }
            ));
        }
    }
    let mut settings = Vec::new();
    let mut notes = Vec::new();
    // A chart file Helm may not render (verify73 V73-6, verify74 V74-4,
    // V74-5): outside its templates/ and crds/, and no template polscan
    // read reads it through `.Files`. Said, not refused: a helper
    // (`_*.tpl`, not read here) or a library chart may read it.
    for file in &files {
        if let Some(root) = unread_chart_file(repo, file) {
            notes.push(format!(
                "{file} is in the chart {} but outside its templates/ and crds/, and no template polscan read reads it through .Files (helpers named _*.tpl are not read): unless one does, Helm does not render it and the patch changes nothing",
                if root.is_empty() { "." } else { root }
            ));
        }
    }
    if !other_bindings.is_empty() {
        notes.push(format!(
            "Git's other bindings of the policy, which this cluster does not have ({}), are left as they are: another environment's, judged by its own package",
            other_bindings.join(", ")
        ));
    }
    let mut readers: Vec<Reader> = Vec::new();
    if targets.len() > 1 {
        let bindings: Vec<String> = targets
            .iter()
            .map(|s| format!("{} ({}:{})", s.name, s.file, s.start + 1))
            .collect();
        notes.push(format!(
            "the patch changes every binding of the policy in the repository: {}",
            bindings.join(", ")
        ));
    }
    // The rules Git's plain document enforces already, read as the
    // cluster's document is (PolicyInfo: a rule's own action, else the
    // policy's): where the cluster has them in Audit, Git and the cluster
    // disagree (verify46 F5).
    let mut git_enforced = Vec::new();
    for site in targets.iter().filter(|site| site.role == Role::Policy) {
        let Some(info) = site
            .value
            .and_then(crate::ingest::policy_info::PolicyInfo::from_document)
        else {
            continue;
        };
        if !matches!(info.kind.as_str(), "ClusterPolicy" | "Policy") {
            continue;
        }
        for rule in info.rules.iter().filter(|r| r.base_action() == "Enforce") {
            if !git_enforced.contains(&rule.name) {
                git_enforced.push(rule.name.clone());
            }
        }
    }
    let templated = targets.iter().any(|site| site.template.is_some());
    for site in targets {
        for setting in action_settings(site, policy)? {
            match helm_reference(repo, &setting)? {
                None => settings.push(setting),
                Some(keys) => {
                    let chart = site.template.unwrap_or("");
                    // A namespaced policy a template puts in its release's
                    // namespace (written so, or left out) comes from the
                    // release into the policy's namespace alone (verify57
                    // V57-3: another namespace's release was patched).
                    let release_namespace = policy.namespace.filter(|_| {
                        site.namespace
                            .is_none_or(|written| written.contains(".Release.Namespace"))
                    });
                    let (values, note) = values_settings(
                        repo,
                        chart,
                        &keys,
                        &setting,
                        environment_values,
                        release_namespace,
                    )?;
                    notes.extend(note);
                    // A values file outside the chart (an environment's,
                    // given to every release) reaches every chart's
                    // templates (verify49 V49-6).
                    let everywhere = values.iter().any(|v| {
                        is_values_file(&v.file)
                            && longest_root(&v.file, &repo.charts) != Some(chart)
                    });
                    let others = other_readers(repo, chart, &keys, site, policy, everywhere);
                    for reader in &others {
                        if !readers.contains(reader) {
                            readers.push(reader.clone());
                        }
                    }
                    if !others.is_empty() {
                        let described: Vec<String> = others.iter().map(Reader::describe).collect();
                        let note = format!(
                            "{} is also read by {}: the patch changes them too",
                            keys.join("."),
                            described.join(", ")
                        );
                        if !notes.contains(&note) {
                            notes.push(note);
                        }
                    }
                    settings.extend(values);
                }
            }
        }
    }
    settings.sort_by(|a, b| (&a.file, a.first_line()).cmp(&(&b.file, b.first_line())));
    settings.dedup();
    if !copies_left.is_empty() {
        notes.push(format!(
            "not patched: {} — a copy in a test's folder, which nothing in the checkout applies; change it too if the test should follow",
            copies_left.join(", ")
        ));
    }
    Ok(Located {
        settings,
        notes,
        readers,
        git_enforced,
        templated,
    })
}

/// The kustomization files (or Flux Kustomizations) that may patch the
/// action of the documents named `names`, of `kinds`: one that names one
/// of them (`name: <name>`, a patch's target or metadata), or whose patch
/// targets them by other than a name (a `labelSelector`, an
/// `annotationSelector`, the kind alone: walk46 F7; a name pattern
/// matching one: verify47 V47-5), and writes an action
/// field, inline or in a JSON patch file elsewhere (`path:
/// /spec/validationFailureAction`; a strategic-merge file naming the
/// policy is a second copy of it, refused where documents are located).
/// A patch of the base alone would then not be what the cluster gets.
/// With `action_only` false, one patching anything of them. With `files`
/// (where the policy's documents are), a kustomization file counts only
/// where it applies to one of them ([`kustomization_applies_to`]). None
/// when there is none.
fn kustomize_patches_of(
    repo: &Repository,
    names: &[&str],
    kinds: &[&str],
    files: Option<&[&str]>,
    action_only: bool,
    rule_level: bool,
) -> Option<Vec<String>> {
    const FIELDS: [&str; 2] = ["ailureAction", "validationActions"];
    // kustomize's file, or a Flux Kustomization (its spec.patches).
    let is_kustomization = |path: &str, text: &str| {
        is_kustomization_file(path) || text.contains("kind: Kustomization")
            // A HelmRelease's post-renderers patch what it renders.
            || (text.contains("kind: HelmRelease") && text.contains("postRenderers"))
            // An Argo CD Application's kustomize patches what it builds
            // (verify55 V55-6).
            || (text.contains("argoproj.io/") && text.contains("kustomize"))
    };
    let names_one = |text: &str| {
        text.lines().any(|line| {
            let line = line.trim().trim_start_matches("- ").trim();
            line.strip_prefix("name:")
                .map(|value| unquote(value.split(" #").next().unwrap_or(value)))
                .is_some_and(|value| names.contains(&value))
        })
    };
    // A JSON patch file's op on an action field, wherever it is.
    let json_patch_elsewhere = repo.files.iter().any(|(path, file)| {
        !is_kustomization(path, &file.text)
            && file.text.contains("op:")
            && [
                "/validationFailureAction",
                "/failureAction",
                "/validationActions",
            ]
            .iter()
            .any(|pointer| file.text.contains(pointer))
    });
    // What a kustomization's patches and replacements select: inline,
    // in a HelmRelease's post-renderers (verify50 V50-4), or in a
    // replacement file it names (verify50 V50-3).
    let targets_of = |path: &str, file: &repository::File| -> Vec<Value> {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let values: Vec<&Value> = file
            .documents
            .iter()
            .filter_map(|document| document.value.as_ref())
            .collect();
        let patches: Vec<&Value> = values
            .iter()
            .flat_map(|value| patch_entries(value, folder))
            .map(|(_, entry)| entry)
            .collect();
        let mut targets: Vec<Value> = patches
            .iter()
            .filter_map(|patch| patch.get("target"))
            .cloned()
            .collect();
        let replacements: Vec<Value> = values
            .iter()
            .flat_map(|value| kustomize_replacements(repo, folder, value))
            .collect();
        targets.extend(
            replacements
                .iter()
                .filter_map(|replacement| replacement.get("targets")?.as_array())
                .flatten()
                .filter_map(|target| target.get("select"))
                .cloned(),
        );
        // A replacement copying a policy's action into other objects
        // (verify69 V69-1): a patch of that policy switches them too, one
        // perhaps not ready. Its source selects the policy as a target
        // does.
        targets.extend(
            replacements
                .iter()
                .filter_map(|replacement| replacement.get("source"))
                .filter(|source| {
                    source
                        .get("fieldPath")
                        .and_then(Value::as_str)
                        .is_some_and(holds_action)
                })
                .cloned(),
        );
        targets
    };
    // A target that selects the policy: by no name, or a name pattern
    // matching one, of any kind or of the policy's.
    let selects = |target: &Value| target_selects(target, names, kinds);
    let selects_without_name =
        |path: &str, file: &repository::File| targets_of(path, file).iter().any(selects);
    // A patch file the kustomization names (`path: enforce.yaml`, a
    // strategic-merge patch) writing an action field (verify49 V49-15).
    let patch_file_writes = |path: &str, file: &repository::File| {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let values: Vec<&Value> = file
            .documents
            .iter()
            .filter_map(|document| document.value.as_ref())
            .collect();
        let replacement_files = values
            .iter()
            .filter_map(|value| value.get("replacements")?.as_array())
            .flatten()
            .filter_map(|entry| entry.get("path").and_then(Value::as_str))
            .map(|relative| joined(folder, relative));
        let patch_files = values
            .iter()
            .flat_map(|value| patch_entries(value, folder))
            .filter(|(_, entry)| entry.get("patch").is_none())
            .filter_map(|(base, entry)| {
                let relative = entry
                    .get("path")
                    .and_then(Value::as_str)
                    .or(entry.as_str().filter(|text| !text.contains('\n')))?;
                Some(joined(&base, relative))
            });
        replacement_files.chain(patch_files).any(|file| {
            repo.text(&file)
                .is_some_and(|text| FIELDS.iter().any(|f| text.contains(f)))
        })
    };
    // A kustomization listing a patch or replacement file polscan did not
    // read (not YAML by its name, say `audit.txt`: verify71 V71-1): what
    // it selects and writes is not known, so it may be the action.
    let lists_unread = |path: &str, file: &repository::File| {
        if !is_kustomization_file(path) {
            return false;
        }
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        file.documents
            .iter()
            .filter_map(|document| document.value.as_ref())
            .flat_map(|value| {
                [
                    "patches",
                    "patchesJson6902",
                    "patchesStrategicMerge",
                    "replacements",
                ]
                .into_iter()
                .filter_map(|key| value.get(key)?.as_array())
                .flatten()
            })
            // An entry whose target selects none of these policies is
            // not theirs (verify72 V72-6).
            .filter(|entry| entry.get("target").is_none_or(selects))
            .filter_map(|entry| {
                entry
                    .get("path")
                    .and_then(Value::as_str)
                    .or(entry.as_str().filter(|text| !text.contains('\n')))
            })
            .any(|relative| repo.text(&joined(folder, relative)).is_none())
    };
    // A replacement reading or writing a field that holds an action (a
    // whole `spec`, a rule: verify70 V70-6), which names no action field.
    let replacement_holds_action = |path: &str, file: &repository::File| {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        file.documents
            .iter()
            .filter_map(|document| document.value.as_ref())
            .flat_map(|value| kustomize_replacements(repo, folder, value))
            .any(|replacement| {
                let source = replacement
                    .pointer("/source/fieldPath")
                    .and_then(Value::as_str)
                    .is_some_and(holds_action);
                let target = replacement
                    .get("targets")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.get("fieldPaths")?.as_array())
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(holds_action);
                source || target
            })
    };
    // A patch of the policy whose body replaces or removes what holds
    // its action — a JSON 6902 op on `/spec/rules/0/validate`, a
    // strategic-merge body restating `spec.rules` (a custom resource's
    // lists are replaced whole) — while naming no action field (verify78
    // F1: the base's action patched, the overlay's `validate` without one
    // deployed).
    let patch_holds_action = |path: &str, file: &repository::File| {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        file.documents
            .iter()
            .filter_map(|document| document.value.as_ref())
            .flat_map(|value| patch_entries(value, folder))
            .filter(|(_, entry)| entry.get("target").is_none_or(selects))
            .any(|(base, entry)| match patch_body(repo, &base, entry) {
                Ok(Some(text)) => {
                    patch_body_holds_action(&text, names, rule_level, entry.get("target").is_some())
                }
                Ok(None) => false,
                // A file not in the checkout (or not read) may write it.
                Err(_) => true,
            })
    };
    let found: Vec<String> = repo
        .files
        .iter()
        .filter(|(path, file)| {
            is_kustomization(path, &file.text)
                // A kustomization file transforms only what it builds
                // (the policy library's pod-security/enforce overlay
                // patches its own folder's policies, not best-practices').
                && !(is_kustomization_file(path)
                    && files.is_some_and(|files| {
                        !files.iter().any(|file| {
                            kustomization_applies_to(repo, path, file)
                                || loosely_reaches(repo, path, file)
                        })
                    }))
                // A Flux Kustomization's or Argo CD source's patches, what
                // its path builds (verify64 V64-10).
                && (is_kustomization_file(path)
                    || files.is_none_or(|files| delivery_patches_reach(repo, file, files)))
                && (names_one(&file.text)
                    || selects_without_name(path, file)
                    || lists_unread(path, file)
                    // Its body names the policy (in flow style too).
                    || (action_only && patch_holds_action(path, file)))
                && (!action_only
                    || json_patch_elsewhere
                    || FIELDS.iter().any(|f| file.text.contains(f))
                    || patch_file_writes(path, file)
                    || replacement_holds_action(path, file)
                    || patch_holds_action(path, file)
                    || lists_unread(path, file))
        })
        .map(|(path, _)| path.clone())
        .collect();
    (!found.is_empty()).then_some(found)
}

/// Whether a kustomize replacement's field path (`spec.rules.0.validate`)
/// is an action field or holds one: `spec`, `spec.rules`, a rule, its
/// `validate` (verify70 V70-6: a replacement copying a whole `spec`
/// copies the action too).
fn holds_action(field_path: &str) -> bool {
    const ACTIONS: [&str; 2] = ["ailureAction", "validationActions"];
    if ACTIONS.iter().any(|a| field_path.contains(a)) {
        return true;
    }
    let parts: Vec<&str> = field_path.split('.').collect();
    match parts.as_slice() {
        ["spec"] | ["spec", "rules"] | ["spec", "rules", _] => true,
        ["spec", "rules", _, last] => *last == "validate",
        _ => false,
    }
}

/// `path (items[n])` of each item of a `kind: …List` document (`List`,
/// `ClusterPolicyList`, …) in the checkout that `wanted` picks.
fn list_items(repo: &Repository, wanted: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for (path, file) in &repo.files {
        for value in file.documents.iter().filter_map(|d| d.value.as_ref()) {
            let is_list = value
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.ends_with("List"));
            let items = value.get("items").and_then(Value::as_array);
            for (index, item) in items.into_iter().flatten().enumerate() {
                if is_list && wanted(item) {
                    found.push(format!("{path} (items[{index}])"));
                }
            }
        }
    }
    found
}

/// The patch entries of a kustomization (`patches`, `patchesJson6902`,
/// `patchesStrategicMerge`), a Flux Kustomization (`spec.patches`, and
/// v1beta2's `spec.patchesJson6902` / `spec.patchesStrategicMerge`), an
/// Argo CD source's `kustomize.patches` and a HelmRelease's
/// post-renderers (v2beta's deprecated fields too): each an object
/// (`patch`/`path`, `target`; a deprecated strategic-merge entry is the
/// body itself) or a string (a strategic-merge file or inline body), with
/// the folder its `path` is relative to — `folder` (the file's), or an
/// Argo CD source's `path`, the kustomization Argo CD adds them to
/// (verify79 V79-3).
fn patch_entries<'a>(value: &'a Value, folder: &str) -> Vec<(String, &'a Value)> {
    const KUSTOMIZE: [&str; 3] = ["patches", "patchesJson6902", "patchesStrategicMerge"];
    let listed = |holder: &'a Value, prefix: &str| -> Vec<&'a Value> {
        KUSTOMIZE
            .iter()
            .filter_map(|key| holder.pointer(&format!("{prefix}/{key}"))?.as_array())
            .flatten()
            .collect()
    };
    let mut patches: Vec<(String, &Value)> = listed(value, "")
        .into_iter()
        .chain(listed(value, "/spec"))
        .map(|entry| (folder.to_string(), entry))
        .collect();
    // An Argo CD Application's (or ApplicationSet template's) sources'.
    for source in argo_sources(value) {
        let base = source
            .get("path")
            .and_then(Value::as_str)
            .map_or_else(|| folder.to_string(), |path| joined("", path));
        patches.extend(
            listed(source, "/kustomize")
                .into_iter()
                .map(|entry| (base.clone(), entry)),
        );
    }
    for renderer in value
        .pointer("/spec/postRenderers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        patches.extend(
            listed(renderer, "/kustomize")
                .into_iter()
                .map(|entry| (folder.to_string(), entry)),
        );
    }
    patches
}

/// A patch entry's body: inline (`patch:` as text, or as the ops or
/// object a deprecated field holds; a strategic-merge string holding
/// YAML; a deprecated strategic-merge entry that is the body itself), or
/// the text of the file its `path` names, relative to `folder`. `Err`
/// (the file) when it names one the checkout does not hold, or polscan
/// did not read: what it writes is not known.
fn patch_body(repo: &Repository, folder: &str, entry: &Value) -> Result<Option<String>, String> {
    if let Some(patch) = entry.get("patch") {
        return Ok(Some(match patch.as_str() {
            Some(text) => text.to_string(),
            None => patch.to_string(),
        }));
    }
    if let Some(text) = entry.as_str() {
        if text.contains('\n') {
            return Ok(Some(text.to_string()));
        }
    }
    let relative = entry.get("path").and_then(Value::as_str).or(entry.as_str());
    match relative {
        Some(relative) => {
            let file = joined(folder, relative);
            match repo.text(&file) {
                Some(text) => Ok(Some(text.to_string())),
                None => Err(file),
            }
        }
        // The body itself (Flux v1beta2's spec.patchesStrategicMerge).
        None if ["kind", "metadata", "spec"]
            .iter()
            .any(|key| entry.get(*key).is_some()) =>
        {
            Ok(Some(entry.to_string()))
        }
        None => Ok(None),
    }
}

/// Whether a kustomize patch or replacement `target` may select a
/// document of one of `names` and `kinds`: kustomize reads its name, kind,
/// group and version as anchored regular expressions
/// (api/types/selector.go: `team-.*` selects the policy as surely as its
/// name, verify47 V47-5, verify73 V73-3); an absent field selects all,
/// and a pattern that does not compile may select anything.
fn target_selects(target: &Value, names: &[&str], kinds: &[&str]) -> bool {
    let matches = |field: &str, candidates: &[&str]| {
        target
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(|pattern| {
                regex::Regex::new(&format!("^(?:{pattern})$"))
                    .map_or(true, |re| candidates.iter().any(|c| re.is_match(c)))
            })
    };
    matches("name", names) && matches("kind", kinds)
}

/// An RFC 6901 JSON pointer (`/spec/rules/0/validate`) as kustomize's
/// dotted field path (`spec.rules.0.validate`), its `~1` and `~0`
/// unescaped; empty for the whole document.
fn dotted_path(pointer: &str) -> String {
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether a patch body (`text`: JSON 6902 ops, or a strategic-merge
/// object, YAML or JSON) may set, replace or drop the action of a policy
/// named in `names`: an op whose `path` or `from` holds the action
/// ([`holds_action`]; a rule or its `validate` only where the action is
/// `rule_level`), or a strategic-merge body of such a policy (or of no
/// name) with a `spec` that is no object or carries a `$patch`, or that
/// restates `rules` where the action is `rule_level` — kustomize merges a
/// custom resource's lists by replacing them whole (JSON merge patch), so
/// the rules it writes are the policy's, actions and all. A body that does
/// not parse may hold anything.
fn patch_body_holds_action(text: &str, names: &[&str], rule_level: bool, targeted: bool) -> bool {
    let parsed = documents(text, true);
    if parsed.iter().any(|document| document.value.is_none()) {
        return true;
    }
    // An action key however it is spelled in the text (`failure\u0041ction`
    // in JSON: verify79 V79-5), or a binding's `policyName` (repointing a
    // binding moves its actions to another policy: V79-2).
    fn writes_key(value: &Value) -> bool {
        match value {
            Value::Object(map) => map.iter().any(|(key, inner)| {
                matches!(
                    key.as_str(),
                    "validationFailureAction"
                        | "failureAction"
                        | "validationActions"
                        | "policyName"
                ) || writes_key(inner)
            }),
            Value::Array(items) => items.iter().any(writes_key),
            _ => false,
        }
    }
    if parsed
        .iter()
        .filter_map(|document| document.value.as_ref())
        .any(|value| match value {
            // An op's value, not its own fields.
            Value::Array(ops) => ops.iter().any(|op| op.get("value").is_some_and(writes_key)),
            other => writes_key(other),
        })
    {
        return true;
    }
    let op_holds = |op: &Value| {
        ["path", "from"].iter().any(|field| {
            op.get(*field)
                .and_then(Value::as_str)
                .is_some_and(|pointer| {
                    let dotted = dotted_path(pointer);
                    // Below spec.rules, only a rule-level action is held.
                    dotted.is_empty()
                        || dotted == "spec.policyName"
                        || (holds_action(&dotted)
                            && (rule_level
                                || !dotted.starts_with("spec.rules")
                                || ["ailureAction", "validationActions"]
                                    .iter()
                                    .any(|a| dotted.contains(a))))
                })
        })
    };
    parsed
        .iter()
        .filter_map(|document| document.value.as_ref())
        .any(|value| match value {
            Value::Array(ops) => ops.iter().any(op_holds),
            Value::Object(body) => {
                // With a target, kustomize patches what the target
                // selects, whatever name the body gives (verify79 V79-1).
                let named = targeted
                    || body
                        .get("metadata")
                        .and_then(|m| m.get("name"))
                        .and_then(Value::as_str)
                        .is_none_or(|name| names.contains(&name));
                let spec_holds = match body.get("spec") {
                    None => false,
                    Some(Value::Object(spec)) => {
                        (rule_level && spec.contains_key("rules")) || spec.contains_key("$patch")
                    }
                    Some(_) => true,
                };
                named && (spec_holds || body.get("$patch").is_some())
            }
            _ => false,
        })
}

/// A kustomization's `replacements`: each inline, or those of the file
/// an entry names by `path` (relative to `folder`; a list or one per
/// document). A file not in the checkout gives none.
fn kustomize_replacements(repo: &Repository, folder: &str, kustomization: &Value) -> Vec<Value> {
    let mut found = Vec::new();
    for replacement in kustomization
        .get("replacements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match replacement.get("path").and_then(Value::as_str) {
            Some(relative) => found.extend(
                repo.text(&joined(folder, relative))
                    .map(|text| documents(text, true))
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|d| d.value)
                    .flat_map(|v| match v {
                        Value::Array(items) => items,
                        other => vec![other],
                    }),
            ),
            None => found.push(replacement.clone()),
        }
    }
    found
}

fn field_name(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

fn pointer_of(path: &[Segment]) -> String {
    path.iter()
        .map(|segment| match segment {
            Segment::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Segment::Index(index) => format!("/{index}"),
        })
        .collect()
}

/// The action fields of a policy or binding document.
fn action_settings(site: &Site<'_>, policy: &PolicyRef<'_>) -> Result<Vec<Setting>, String> {
    let what = format!("{}:{}", site.file, site.start + 1);
    let check = |path: &[Segment]| {
        site.template.is_none().then(|| Check {
            document: site.index,
            pointer: pointer_of(path),
        })
    };
    let line_text = |line: usize| {
        site.lines
            .get(line)
            .map(|l| l.trim_end_matches(['\n', '\r']))
            .unwrap_or("")
    };
    let mut settings = Vec::new();
    match (policy.kind, site.role) {
        ("ClusterPolicy" | "Policy", Role::Policy) => {
            let overrides = site.entries.iter().any(|e| {
                e.path_is(&[Some("spec"), Some("validationFailureActionOverrides")])
                    || e.path_is(&[
                        Some("spec"),
                        Some("rules"),
                        None,
                        Some("validate"),
                        Some("failureActionOverrides"),
                    ])
            });
            if overrides {
                return Err(format!(
                    "{what}: the policy sets action overrides per namespace (validationFailureActionOverrides / failureActionOverrides): which namespaces to enforce in is a decision to make by hand"
                ));
            }
            for entry in site.entries {
                let field = entry.path_is(&[Some("spec"), Some("validationFailureAction")])
                    || entry.path_is(&[
                        Some("spec"),
                        Some("rules"),
                        None,
                        Some("validate"),
                        Some("failureAction"),
                    ])
                    || entry.path_is(&[
                        Some("spec"),
                        Some("rules"),
                        None,
                        Some("validate"),
                        Some("validationFailureAction"),
                    ]);
                if !field {
                    continue;
                }
                let value = line_text(entry.line)[entry.value.clone()].to_string();
                let flow_or_block = value.starts_with(['[', '|', '>', '&', '*', '!'])
                    || (value.starts_with('{') && !value.starts_with("{{"));
                if value.is_empty() || flow_or_block {
                    return Err(format!(
                        "{what}: {} is written in a form not edited line by line",
                        field_name(&entry.path)
                    ));
                }
                settings.push(Setting {
                    file: site.file.to_string(),
                    form: Form::Scalar {
                        line: site.start + entry.line,
                        value: entry.value.clone(),
                    },
                    words: Words::Kyverno,
                    field: field_name(&entry.path),
                    check: check(&entry.path),
                });
            }
            if let Some(value) = site.value {
                // What the parser sees must be what the lines showed: a
                // flow mapping hides fields from a line-level reading.
                let mut parsed =
                    usize::from(value.pointer("/spec/validationFailureAction").is_some());
                for rule in value
                    .pointer("/spec/rules")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for field in ["failureAction", "validationFailureAction"] {
                        parsed +=
                            usize::from(rule.pointer(&format!("/validate/{field}")).is_some());
                    }
                }
                let overrides = value
                    .pointer("/spec/validationFailureActionOverrides")
                    .is_some()
                    || value
                        .pointer("/spec/rules")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|rule| rule.pointer("/validate/failureActionOverrides").is_some());
                if parsed != settings.len() || overrides {
                    return Err(format!(
                        "{what}: the action fields are written in a form (a flow mapping, an anchor's alias?) not edited line by line"
                    ));
                }
            }
            let mut fields: Vec<&str> = settings.iter().map(|s| s.field.as_str()).collect();
            fields.sort_unstable();
            if let Some(twice) = fields.windows(2).find(|pair| pair[0] == pair[1]) {
                // A template's if/else writes one field on two lines.
                return Err(format!(
                    "{what}: {} is written on more than one line (a template's branches?), which is not followed",
                    twice[0]
                ));
            }
            let validates = site
                .entries
                .iter()
                .any(|e| e.path_is(&[Some("spec"), Some("rules"), None, Some("validate")]));
            if settings.is_empty() && !validates {
                return Err(format!(
                    "{what}: the policy has no validate rule: no action to switch"
                ));
            }
            if settings.is_empty() {
                return Err(format!(
                    "{what}: the policy sets no action (Kyverno's default, Audit): add spec.validationFailureAction (or each rule's validate.failureAction) in Git"
                ));
            }
            // Without a policy-wide action, a validate rule without its own
            // takes Kyverno's default (Audit): a patch of the others would
            // leave it auditing.
            let policy_wide = site
                .entries
                .iter()
                .any(|e| e.path_is(&[Some("spec"), Some("validationFailureAction")]));
            if !policy_wide {
                let rule_of = |e: &Entry| match e.path.get(2) {
                    Some(Segment::Index(index)) => Some(*index),
                    _ => None,
                };
                let validating: BTreeSet<usize> = site
                    .entries
                    .iter()
                    .filter(|e| e.path_is(&[Some("spec"), Some("rules"), None, Some("validate")]))
                    .filter_map(rule_of)
                    .collect();
                let own: BTreeSet<usize> = site
                    .entries
                    .iter()
                    .filter(|e| {
                        e.path_is(&[
                            Some("spec"),
                            Some("rules"),
                            None,
                            Some("validate"),
                            Some("failureAction"),
                        ]) || e.path_is(&[
                            Some("spec"),
                            Some("rules"),
                            None,
                            Some("validate"),
                            Some("validationFailureAction"),
                        ])
                    })
                    .filter_map(rule_of)
                    .collect();
                if let Some(rule) = validating.difference(&own).next() {
                    return Err(format!(
                        "{what}: rule spec.rules[{rule}] sets no failureAction and the policy no validationFailureAction: it takes Kyverno's default (Audit), which no line says; add one in Git"
                    ));
                }
            }
        }
        (_, _) => {
            // validationActions: the policy's own, or a binding's.
            let field = "spec.validationActions".to_string();
            let path = [
                Segment::Key("spec".into()),
                Segment::Key("validationActions".into()),
            ];
            let written: Vec<&Entry> = site
                .entries
                .iter()
                .filter(|e| e.path_is(&[Some("spec"), Some("validationActions")]))
                .collect();
            let entry = match written.as_slice() {
                [] => return Err(format!("{what}: spec.validationActions is not set")),
                [entry] => *entry,
                _ => {
                    return Err(format!(
                        "{what}: spec.validationActions is written on more than one line (a template's branches?), which is not followed"
                    ))
                }
            };
            let value = &line_text(entry.line)[entry.value.clone()];
            let form = if value.is_empty() {
                let items: Vec<(usize, Range<usize>)> = site
                    .entries
                    .iter()
                    .filter(|e| e.path_is(&[Some("spec"), Some("validationActions"), None]))
                    .map(|e| (site.start + e.line, e.value.clone()))
                    .collect();
                if items.is_empty() {
                    return Err(format!("{what}: spec.validationActions holds no item"));
                }
                Form::BlockList { items }
            } else if flow_items(value).is_some() {
                Form::FlowList {
                    line: site.start + entry.line,
                    value: entry.value.clone(),
                }
            } else {
                return Err(format!(
                    "{what}: spec.validationActions is written in a form not edited line by line ({value})"
                ));
            };
            settings.push(Setting {
                file: site.file.to_string(),
                form,
                words: Words::Cel,
                field,
                check: check(&path),
            });
        }
    }
    Ok(settings)
}

/// The values written by a setting, as in the file.
fn written<'a>(repo: &'a Repository, setting: &Setting) -> Vec<&'a str> {
    let Some(text) = repo.text(&setting.file) else {
        return Vec::new();
    };
    let all = diff::lines(text);
    let at = |line: usize, range: &Range<usize>| {
        all.get(line)
            .map(|l| l.trim_end_matches(['\n', '\r']))
            .and_then(|l| l.get(range.clone()))
            .unwrap_or("")
    };
    match &setting.form {
        Form::Scalar { line, value } => vec![at(*line, value)],
        Form::FlowList { line, value } => flow_items(at(*line, value)).unwrap_or_default(),
        Form::BlockList { items } => items.iter().map(|(line, value)| at(*line, value)).collect(),
    }
}

/// `{{ .Values.a.b }}` (with `quote`, or `default "…"`, `-` trims,
/// surrounding quotes) → `["a", "b"]`; None for a literal; a problem for
/// any other template.
fn helm_reference(repo: &Repository, setting: &Setting) -> Result<Option<Vec<String>>, String> {
    let values = written(repo, setting);
    if !values.iter().any(|v| v.contains("{{")) {
        return Ok(None);
    }
    let not_followed = |v: &str| {
        format!(
            "{}: {} is templated as {v}, which is not followed (only `{{{{ .Values.<key> }}}}`, with `quote` or `default`)",
            setting.describe().split(' ').next().unwrap_or(""),
            setting.field
        )
    };
    let [only] = values.as_slice() else {
        return Err(not_followed(&values.join(", ")));
    };
    let inner = unquote(only)
        .trim()
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .ok_or_else(|| not_followed(only))?;
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    if inner.contains("{{") {
        return Err(not_followed(only));
    }
    let mut pipeline = inner.split('|').map(str::trim);
    let head = pipeline.next().unwrap_or("");
    for step in pipeline {
        if !(step == "quote" || step == "squote" || step.starts_with("default ")) {
            return Err(not_followed(only));
        }
    }
    let path = head
        .strip_prefix(".Values.")
        .or_else(|| head.strip_prefix("$.Values."))
        .ok_or_else(|| not_followed(only))?;
    let keys: Vec<String> = path.split('.').map(str::to_string).collect();
    if keys.iter().any(|k| {
        k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(not_followed(only));
    }
    Ok(Some(keys))
}

/// The other documents of `chart`'s templates that read the values key
/// `keys` (a second policy given the same key is promoted with this one),
/// as `<kind> <name> (<file>:<line>)`.
fn other_readers(
    repo: &Repository,
    chart: &str,
    keys: &[String],
    site: &Site<'_>,
    policy: &PolicyRef<'_>,
    everywhere: bool,
) -> Vec<Reader> {
    // `global` values reach every subchart (Helm's globals). Helm scopes
    // a subchart's values under its name in the parent's: a parent key
    // `sub.k` is the subchart's own `.Values.k` (verify47 V47-13), and the
    // subchart's `k` is the parent's `.Values.sub.k` (verify48 V48-5); the
    // name is its Chart.yaml name or the parent's dependency alias, not
    // its folder alone (V48-6).
    let global = keys.first().is_some_and(|k| k == "global");
    let own_parent = parent_chart(repo, chart);
    // The keys by which each chart's templates read this one, if any:
    // worked out once per chart, not per template.
    let scoped_keys = |of: &str| -> Vec<Vec<String>> {
        if of == chart || global || everywhere {
            return vec![keys.to_vec()];
        }
        // A subchart of `chart`, named by the key's first step.
        if keys.len() > 1
            && parent_chart(repo, of).as_deref() == Some(chart)
            && subchart_names(repo, of).iter().any(|n| *n == keys[0])
        {
            return vec![keys[1..].to_vec()];
        }
        // `chart`'s parent, under any name `chart` goes by there.
        if own_parent.as_deref() == Some(of) {
            return subchart_names(repo, chart)
                .into_iter()
                .map(|name| std::iter::once(name).chain(keys.iter().cloned()).collect())
                .collect();
        }
        Vec::new()
    };
    let by_chart: BTreeMap<&str, Vec<Vec<String>>> = repo
        .charts
        .iter()
        .map(|of| (of.as_str(), scoped_keys(of)))
        .collect();
    let mut found = Vec::new();
    for (path, file) in &repo.files {
        let Some(scoped) = file
            .template_of
            .as_deref()
            .and_then(|of| by_chart.get(of))
            .filter(|scoped| !scoped.is_empty())
        else {
            continue;
        };
        for document in &file.documents {
            if path == site.file && document.index == site.index {
                continue;
            }
            // The policy's own bindings switch with it (verify48 V48-11).
            if policy.kind == "ValidatingAdmissionPolicy"
                && document.identity.as_ref().is_some_and(|identity| {
                    identity.kind == "ValidatingAdmissionPolicyBinding"
                        && identity.policy_name.as_deref() == Some(policy.name)
                })
            {
                continue;
            }
            let lines = file.lines(document);
            let read = lines
                .iter()
                .position(|l| scoped.iter().any(|keys| reads_values_key(l, keys)))
                .or_else(|| hidden_action(document, &lines));
            let Some(line) = read else {
                continue;
            };
            found.push(Reader {
                // A binding stands for the policy it binds, whose verdict
                // counts (verify48 V48-11).
                identity: document.identity.as_ref().map(|identity| {
                    match (identity.kind.as_str(), &identity.policy_name) {
                        ("ValidatingAdmissionPolicyBinding", Some(bound)) => {
                            ("ValidatingAdmissionPolicy".to_string(), bound.clone())
                        }
                        _ => (identity.kind.clone(), identity.name.clone()),
                    }
                }),
                place: format!("{path}:{}", document.lines.start + line + 1),
            });
        }
    }
    found
}

/// The line of a policy template whose action no line shows while a
/// helper or a values map renders part of it (`{{- include "x.spec" . |
/// nindent 2 }}`, `{{ toYaml .Values.common }}`, a `range` over a values
/// map: verify49 V49-1): it may set the action
/// from any key (verify48 V48-2: such a NO-GO policy was enforced unseen).
/// A document of another kind is no reader.
fn hidden_action(document: &repository::Document, lines: &[&str]) -> Option<usize> {
    const POLICY_KINDS: [&str; 5] = [
        "ClusterPolicy",
        "Policy",
        "ValidatingPolicy",
        "NamespacedValidatingPolicy",
        "ValidatingAdmissionPolicyBinding",
    ];
    if document
        .identity
        .as_ref()
        .is_some_and(|identity| !POLICY_KINDS.contains(&identity.kind.as_str()))
    {
        return None;
    }
    // Only a line setting the spec's action shows it: an overrides key,
    // a rule's own action or a comment naming the field do not (verify49
    // V49-1).
    // An action line under an `if`/`else` may not be the one rendered
    // (verify50 V50-11): then it shows nothing for sure.
    let branches = lines.iter().any(|l| {
        l.contains("{{")
            && (l.contains(" if ")
                || l.contains("{{- if")
                || l.contains("{{if")
                || l.contains("else"))
    });
    if !branches
        && lines.iter().any(|l| {
            let field = l.trim_start().trim_start_matches("- ");
            field.starts_with("validationFailureAction:") || field.starts_with("validationActions:")
        })
    {
        return None;
    }
    lines.iter().position(|line| {
        line.contains("{{")
            && [
                "include ",
                "template ",
                "toYaml",
                "toJson",
                "tpl ",
                "range ",
                "with ",
            ]
            .iter()
            .any(|renders| line.contains(renders))
    })
}

/// The chart whose `charts/` folder holds the chart at `root`, or whose
/// Chart.yaml depends on it by `file://` (a sibling folder: verify49
/// V49-13), if any.
fn parent_chart(repo: &Repository, root: &str) -> Option<String> {
    let nested = root
        .rsplit_once("/charts/")
        .or_else(|| root.strip_prefix("charts/").map(|_| ("", "")))
        .map(|(parent, _)| parent)
        .filter(|parent| repo.charts.contains(*parent));
    if let Some(parent) = nested {
        return Some(parent.to_string());
    }
    repo.charts
        .iter()
        .find(|chart| {
            chart_dependencies(repo, chart).iter().any(|dependency| {
                dependency
                    .get("repository")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("file://"))
                    .is_some_and(|relative| joined(chart, relative) == root)
            })
        })
        .cloned()
}

/// Every chart the chart at `root` is a subchart of: the one it is
/// nested in, and each naming it as a `file://` dependency.
fn parent_charts(repo: &Repository, root: &str) -> Vec<String> {
    let mut parents: Vec<String> = root
        .rsplit_once("/charts/")
        .or_else(|| root.strip_prefix("charts/").map(|_| ("", "")))
        .map(|(parent, _)| parent.to_string())
        .filter(|parent| repo.charts.contains(parent))
        .into_iter()
        .collect();
    for chart in &repo.charts {
        let depends = chart_dependencies(repo, chart).iter().any(|dependency| {
            dependency
                .get("repository")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("file://"))
                .is_some_and(|relative| joined(chart, relative) == root)
        });
        if depends && !parents.contains(chart) {
            parents.push(chart.clone());
        }
    }
    parents
}

/// Every chart above `root`: its parents ([`parent_charts`]), theirs,
/// and so on (verify71 V71-3: a grandchild's CRDs install with the
/// umbrella's release).
fn ancestor_charts(repo: &Repository, root: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut pending = vec![root.to_string()];
    while let Some(chart) = pending.pop() {
        for parent in parent_charts(repo, &chart) {
            if parent != root && !found.contains(&parent) {
                found.push(parent.clone());
                pending.push(parent);
            }
        }
    }
    found
}

/// The Argo CD Applications and ApplicationSets rendering the chart at
/// `chart` (a source whose `path` is its folder or whose `chart` is one
/// of `chart_names`), each as `<file> (an Argo CD <kind>)`.
fn argo_renders(repo: &Repository, chart: &str, chart_names: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, file) in &repo.files {
        for value in file.documents.iter().filter_map(|d| d.value.as_ref()) {
            if !value
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("argoproj.io/"))
            {
                continue;
            }
            let renders = argo_sources(value)
                .into_iter()
                .any(|source| argo_source_renders(source, chart, chart_names));
            if renders {
                let kind = value
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("Application");
                found.push(format!("{path} (an Argo CD {kind})"));
            }
        }
    }
    found
}

/// An Argo CD Application's spec, or an ApplicationSet's template's.
fn argo_spec(value: &Value) -> Option<&Value> {
    value
        .pointer("/spec/template/spec")
        .or_else(|| value.get("spec"))
}

/// The sources of an Argo CD Application (or ApplicationSet template):
/// its `source` and each of its `sources`.
fn argo_sources(value: &Value) -> Vec<&Value> {
    argo_spec(value)
        .into_iter()
        .flat_map(|spec| {
            spec.get("source").into_iter().chain(
                spec.get("sources")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
        })
        .collect()
}

/// Whether an Argo CD source renders the chart at `chart`: its `path` is
/// the chart's folder or its `chart` one of `chart_names` — or either is
/// an ApplicationSet's template (`{{path}}`, verify54 V54-3), which may
/// generate any folder.
fn argo_source_renders(source: &Value, chart: &str, chart_names: &[String]) -> bool {
    let templated = |text: &str| text.contains("{{");
    source
        .get("path")
        .and_then(Value::as_str)
        .is_some_and(|p| templated(p) || joined("", p) == chart)
        || source
            .get("chart")
            .and_then(Value::as_str)
            .is_some_and(|c| templated(c) || chart_names.iter().any(|n| n == c))
}

/// The `dependencies` of the chart at `root`'s Chart.yaml.
fn chart_dependencies(repo: &Repository, root: &str) -> Vec<Value> {
    let file = if root.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{root}/Chart.yaml")
    };
    repo.text(&file)
        .and_then(|text| polscan_engine::yaml::from_str::<Value>(text).ok())
        .and_then(|v| v.get("dependencies").and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

/// A document's `apiVersion`, `""` when it has none.
fn api_version(value: &Value) -> &str {
    value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `relative` (`./`, `../` steps) from the folder `folder`, as a
/// repository path.
fn joined(folder: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// The names the chart at `root` goes by in its parent's values: its
/// folder's, its Chart.yaml `name`, and the aliases the parent's
/// Chart.yaml `dependencies` give it.
fn subchart_names(repo: &Repository, root: &str) -> Vec<String> {
    let folder = root.rsplit('/').next().unwrap_or(root).to_string();
    let own_file = if root.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{root}/Chart.yaml")
    };
    let own = repo
        .text(&own_file)
        .and_then(|text| polscan_engine::yaml::from_str::<Value>(text).ok())
        .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_string));
    let mut names = vec![folder.clone()];
    names.extend(own.clone());
    let parent = parent_chart(repo, root).unwrap_or_default();
    for dependency in chart_dependencies(repo, &parent) {
        let name = dependency.get("name").and_then(Value::as_str);
        if name.is_some_and(|n| n == folder || Some(n) == own.as_deref()) {
            names.extend(
                dependency
                    .get("alias")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The aliases the parent chart of the chart at `root` gives it in its
/// dependencies (empty when none, or no parent).
fn dependency_aliases(repo: &Repository, root: &str) -> Vec<String> {
    let Some(parent) = parent_chart(repo, root) else {
        return Vec::new();
    };
    let folder = root.rsplit('/').next().unwrap_or(root);
    let own_file = if root.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{root}/Chart.yaml")
    };
    let own = repo
        .text(&own_file)
        .and_then(|text| polscan_engine::yaml::from_str::<Value>(text).ok())
        .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_string));
    let mut aliases: Vec<String> = chart_dependencies(repo, &parent)
        .iter()
        .filter(|d| {
            d.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n == folder || Some(n) == own.as_deref())
        })
        .filter_map(|d| d.get("alias").and_then(Value::as_str).map(str::to_string))
        .collect();
    aliases.sort();
    aliases.dedup();
    aliases
}

/// Whether a template's `line` may read the values key `keys`: by its
/// `.Values` path; through a named template (`include`, `template`) on
/// an action field (verify46 F3: a `_helpers.tpl` define switched
/// another policy unseen); by an action field templated otherwise than as
/// another key's plain `.Values` path (`index .Values "k"`, sprig's
/// `get`, `with .Values`…`.k`, a variable: verify47 V47-3); or by naming
/// the key as a string to `index` or `get`.
fn reads_values_key(line: &str, keys: &[String]) -> bool {
    let needle = format!(".Values.{}", keys.join("."));
    let last = keys.last().map(|k| format!("\"{k}\"")).unwrap_or_default();
    let action_line = line.contains("ailureAction") || line.contains("validationActions");
    line.match_indices(&needle).any(|(at, _)| {
        !line[at + needle.len()..]
            .starts_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    }) || (action_line && line.contains("{{") && !other_plain_values(line, keys))
        || (!last.is_empty()
            && line.contains(&last)
            && (line.contains("index") || line.contains("get ")))
}

/// Whether every `{{ … }}` of `line` is a plain `.Values` path (with
/// `quote`, `squote` or `default`) to another key than `keys`: then the
/// line does not read `keys`.
fn other_plain_values(line: &str, keys: &[String]) -> bool {
    let mut rest = line;
    let mut any = false;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return false;
        };
        let inner = after[..close].trim_start_matches('-').trim_end_matches('-');
        let mut pipeline = inner.split('|').map(str::trim);
        let head = pipeline.next().unwrap_or("");
        if !pipeline.all(|step| step == "quote" || step == "squote" || step.starts_with("default "))
        {
            return false;
        }
        let Some(path) = head
            .strip_prefix(".Values.")
            .or_else(|| head.strip_prefix("$.Values."))
        else {
            return false;
        };
        let path: Vec<&str> = path.split('.').collect();
        if path.iter().any(|k| {
            k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        }) || path.iter().copied().eq(keys.iter().map(String::as_str))
        {
            return false;
        }
        any = true;
        rest = &after[close + 2..];
    }
    any
}

/// The values files (or Flux HelmRelease `spec.values`) that set `keys`,
/// chosen for this cluster: the chart's default `values.yaml` when only it
/// does, else the one environment file that does or that
/// `environment_values` names.
fn values_settings(
    repo: &Repository,
    chart: &str,
    keys: &[String],
    read_by: &Setting,
    environment_values: &[String],
    release_namespace: Option<&str>,
) -> Result<(Vec<Setting>, Option<String>), String> {
    let default_values = if chart.is_empty() {
        "values.yaml".to_string()
    } else {
        format!("{chart}/values.yaml")
    };
    let words = read_by.words;
    // The names a HelmRelease gives this chart by: its directory's and
    // its Chart.yaml's.
    let chart_file = if chart.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{chart}/Chart.yaml")
    };
    let chart_names: Vec<String> = [
        Some(chart.rsplit('/').next().unwrap_or(chart).to_string()),
        repo.text(&chart_file)
            .and_then(|text| polscan_engine::yaml::from_str::<Value>(text).ok())
            .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_string)),
    ]
    .into_iter()
    .flatten()
    .filter(|name| !name.is_empty())
    .collect();
    let mut defaults = Vec::new();
    let mut others = Vec::new();
    let mut parents = Vec::new();
    // HelmReleases that (may) release this chart: by chartRef (not
    // followed), and by its name.
    let mut by_reference_files: BTreeSet<String> = BTreeSet::new();
    // Each by its file and document: two in one file are two releases
    // (verify53 V53-3).
    let mut releases: BTreeSet<(String, usize)> = BTreeSet::new();
    // Their names, and those taking values from elsewhere.
    let mut release_names: BTreeSet<String> = BTreeSet::new();
    let mut values_from: BTreeSet<(String, usize)> = BTreeSet::new();
    // Releases whose namespace is not known here, where the policy's
    // namespace is its release's.
    let mut unplaced: BTreeSet<(String, usize)> = BTreeSet::new();
    // The parent chart's values set a subchart's under its name, over its
    // default (Helm's coalescing: verify47 V47-6, verify49 V49-4).
    let parent = parent_chart(repo, chart);
    // Helm gives an aliased dependency the values under its alias alone:
    // the block under its name is read by nothing (verify56 V56-4).
    let names_in_parent = {
        let names = subchart_names(repo, chart);
        let aliases = dependency_aliases(repo, chart);
        if aliases.is_empty() {
            names
        } else {
            aliases
        }
    };
    // The names a HelmRelease gives the parent chart by.
    let parent_names: Vec<String> = parent
        .as_deref()
        .map(|p| {
            let mut names = subchart_names(repo, p);
            names.retain(|n| !n.is_empty());
            names
        })
        .unwrap_or_default();
    // Releases of the parent chart, and releases taking the chart from a
    // Helm repository (the published chart's values, not Git's).
    let mut parent_releases: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut packaged: BTreeSet<(String, usize)> = BTreeSet::new();
    // Every file a HelmRelease lists in valuesFiles is a values file,
    // whatever its name (verify55 V55-4: `values/prod.yaml` was not read,
    // and the default it overrides was patched).
    let listed_anywhere: BTreeSet<String> = repo
        .files
        .values()
        .flat_map(|file| &file.documents)
        .filter(|d| is_helm_release(d))
        .filter_map(|d| d.value.as_ref())
        .flat_map(listed_values_files)
        .collect();
    for (path, file) in &repo.files {
        // A HelmRelease is one by its kind, whatever its file is named
        // (verify54 V54-3: one in `prod-values.yaml` went uncounted).
        let values_named =
            is_values_file(path) || listed_anywhere.iter().any(|l| same_file(l, path));
        let release = !values_named || file.documents.iter().any(is_helm_release);
        let root = longest_root(path, &repo.charts);
        let in_parent = !release && parent.is_some() && root == parent.as_deref();
        // Another chart's values are not this chart's.
        if !release && !in_parent && root.is_some_and(|root| root != chart) {
            continue;
        }
        // The parent's `global` is every subchart's too (verify50 V50-8).
        let global = keys.first().is_some_and(|k| k == "global");
        let prefixes: Vec<Vec<&str>> = if in_parent && global {
            vec![Vec::new()]
        } else if in_parent || (release && parent.is_some()) {
            // A release of the parent sets the subchart's values under its
            // name (verify50 V50-10); a release of this chart, none.
            std::iter::once(Vec::new())
                .chain(names_in_parent.iter().map(|name| vec![name.as_str()]))
                .filter(|base| release || !base.is_empty())
                .collect()
        } else {
            vec![Vec::new()]
        };
        for (document, base) in file
            .documents
            .iter()
            .flat_map(|document| prefixes.iter().map(move |base| (document, base)))
        {
            let mut prefix: Vec<&str> = base.clone();
            if release {
                let Some(value) = &document.value else {
                    continue;
                };
                if value.get("kind").and_then(Value::as_str) != Some("HelmRelease") {
                    continue;
                }
                // Only a release of this chart; one by `chartRef` (an
                // OCIRepository or HelmChart, not followed here) may be,
                // so its values count (verify50 V50-1: its Enforce was
                // read as Git's Audit).
                let chart_field = value
                    .pointer("/spec/chart/spec/chart")
                    .and_then(Value::as_str);
                // A chart from a GitRepository or Bucket (or any written
                // as a path) is its folder, matched whole: a wrapper chart
                // in clusters/prod/policies is not charts/policies
                // (verify56 V56-5); one from a Helm repository, its name.
                let by_path = chart_field.is_some_and(|c| c.contains('/'))
                    || value
                        .pointer("/spec/chart/spec/sourceRef/kind")
                        .and_then(Value::as_str)
                        .is_some_and(|kind| matches!(kind, "GitRepository" | "Bucket"));
                let is_chart = |folder: &str, names: &[String]| {
                    chart_field.is_some_and(|c| {
                        if by_path {
                            let c = joined("", c);
                            if folder.is_empty() {
                                c.is_empty()
                            } else {
                                same_file(&c, folder)
                            }
                        } else {
                            let name = c.trim_end_matches('/').rsplit('/').next().unwrap_or(c);
                            names.iter().any(|n| n == name)
                        }
                    })
                };
                let by_reference = value.pointer("/spec/chartRef").is_some();
                let of_this = is_chart(chart, &chart_names);
                let of_parent = parent
                    .as_deref()
                    .is_some_and(|p| is_chart(p, &parent_names));
                // Its own values for this chart, its subchart-named ones for
                // the parent's release.
                let global = keys.first().is_some_and(|k| k == "global");
                let fits = if base.is_empty() {
                    // The parent's release passes its `global` down too
                    // (verify51 V51-6).
                    by_reference || of_this || (global && of_parent)
                } else {
                    by_reference || of_parent
                };
                if !fits {
                    continue;
                }
                // A release into another namespace makes another copy of
                // a policy namespaced by its release: not this one. One
                // whose namespace is not known here may be this one's, so
                // it still counts.
                let into = release_namespace_of(repo, path, value);
                if release_namespace
                    .is_some_and(|want| into.as_deref().is_some_and(|ns| ns != want))
                {
                    continue;
                }
                if release_namespace.is_some() && into.is_none() {
                    unplaced.insert((path.clone(), document.index));
                }
                if by_reference {
                    by_reference_files.insert(path.clone());
                } else {
                    releases.insert((path.clone(), document.index));
                }
                if of_parent && (!base.is_empty() || global) {
                    parent_releases.insert((path.clone(), document.index));
                }
                if of_this
                    && value
                        .pointer("/spec/chart/spec/sourceRef/kind")
                        .and_then(Value::as_str)
                        == Some("HelmRepository")
                {
                    packaged.insert((path.clone(), document.index));
                }
                if let Some(name) = value.pointer("/metadata/name").and_then(Value::as_str) {
                    release_names.insert(name.to_string());
                }
                if value
                    .pointer("/spec/valuesFrom")
                    .and_then(Value::as_array)
                    .is_some_and(|from| !from.is_empty())
                {
                    values_from.insert((path.clone(), document.index));
                }
                prefix = vec!["spec", "values"];
                prefix.extend(base.iter().copied());
            }
            let pattern: Vec<Option<&str>> = prefix
                .iter()
                .copied()
                .chain(keys.iter().map(String::as_str))
                .map(Some)
                .collect();
            // The key as a JSON pointer into the document.
            let pointer: String = pattern
                .iter()
                .flatten()
                .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
                .collect();
            // Set where polscan reads no line of it (a flow map, JSON):
            // the key decides all the same, and a patch elsewhere would
            // change nothing (verify57 V57-1).
            let set_unseen = !document.entries.iter().any(|e| e.path_is(&pattern))
                && document
                    .value
                    .as_ref()
                    .is_some_and(|value| value.pointer(&pointer).is_some());
            if set_unseen {
                return Err(format!(
                    "{path}: {} is set there in a form polscan does not edit (a flow map, or JSON): switch it there by hand",
                    keys.join(".")
                ));
            }
            for entry in document.entries.iter().filter(|e| e.path_is(&pattern)) {
                let lines = file.lines(document);
                let line = lines
                    .get(entry.line)
                    .map(|l| l.trim_end_matches(['\n', '\r']))
                    .unwrap_or("");
                let value = line.get(entry.value.clone()).unwrap_or("");
                if value.is_empty() || value.starts_with(['[', '{', '|', '>', '&', '*', '!']) {
                    return Err(format!(
                        "{path}:{}: {} is not a plain value",
                        document.lines.start + entry.line + 1,
                        keys.join(".")
                    ));
                }
                // A file whose nodes aliases copy (`*a`, `<<: *a`): the key
                // may be inside a copied anchor, however it is written
                // (verify52 V52-1, verify53 V53-9: `!!map &a`, an anchor on
                // its own line): a patch would switch every copy.
                if let Some(alias) = first_alias(&file.text) {
                    return Err(format!(
                        "{path}:{}: {} is in a file whose YAML aliases copy nodes elsewhere ({alias}): a patch of it may change every copy (another policy's key among them); write the key out where each policy reads it",
                        document.lines.start + entry.line + 1,
                        keys.join(".")
                    ));
                }
                let setting = Setting {
                    file: path.clone(),
                    form: Form::Scalar {
                        line: document.lines.start + entry.line,
                        value: entry.value.clone(),
                    },
                    words,
                    field: format!(
                        "{} (read by {})",
                        pattern
                            .iter()
                            .flatten()
                            .copied()
                            .collect::<Vec<_>>()
                            .join("."),
                        read_by.describe()
                    ),
                    check: Some(Check {
                        document: document.index,
                        pointer: pointer.clone(),
                    }),
                };
                if in_parent {
                    parents.push(setting);
                } else if *path == default_values {
                    defaults.push(setting);
                } else {
                    others.push(setting);
                }
            }
        }
    }
    let key = keys.join(".");
    // Where the key may be set over what is read here (verify52 V52-4,
    // V52-5): a release's valuesFrom (a ConfigMap or Secret, merged
    // under its spec.values: opaque unless those set the key), a
    // kustomize patch of a release, kustomize's helmCharts or an Argo CD
    // Application rendering the chart with values of their own. A patch
    // here would not be what the cluster gets, nor would a rollback.
    let mut opaque: Vec<String> = values_from
        .iter()
        .filter(|(path, index)| {
            !others
                .iter()
                .any(|s| &s.file == path && s.check.as_ref().is_some_and(|c| c.document == *index))
        })
        .map(|(path, _)| format!("{path} (a HelmRelease's valuesFrom)"))
        .collect();
    opaque.extend(release_value_overrides(
        repo,
        chart,
        &chart_names,
        &release_names,
    ));
    if !opaque.is_empty() {
        return Err(format!(
            "{key} may be set where polscan does not follow: {}; a patch of the values polscan reads would not be what the release gets: switch the action there by hand",
            opaque.join(", ")
        ));
    }
    // Everything that renders this chart: its HelmReleases, Argo CD
    // Applications of it (verify53 V53-4), and its parents: beyond one
    // (each released on its own: V53-7), or one whose release is not
    // found here (verify54 V54-5: it and a release of the subchart are
    // two).
    let argo = argo_renders(repo, chart, &chart_names);
    // An ApplicationSet renders it once per generated Application.
    let fan_out = argo.iter().any(|a| a.ends_with("ApplicationSet)"));
    let parent_folders = parent_charts(repo, chart);
    let counted_parents: Vec<String> =
        if parent_folders.len() > 1 || (parent_folders.len() == 1 && parent_releases.is_empty()) {
            parent_folders
                .iter()
                .map(|p| format!("{} (a parent chart)", if p.is_empty() { "." } else { p }))
                .collect()
        } else {
            Vec::new()
        };
    let release_label = |(path, index): &(String, usize)| {
        let several = repo
            .files
            .get(path)
            .is_some_and(|f| f.documents.iter().filter(|d| is_helm_release(d)).count() > 1);
        if several {
            format!("{path} (document {})", index + 1)
        } else {
            path.clone()
        }
    };
    let consumers: Vec<String> = releases
        .iter()
        .map(|(path, _)| path.clone())
        .chain(by_reference_files.iter().cloned())
        .chain(argo.iter().cloned())
        .chain(counted_parents.iter().cloned())
        .collect();
    // A Git values file is not what a release of the chart from a Helm
    // repository reads (the published chart's are, verify54 V54-5).
    let in_release = |s: &Setting| {
        s.check.as_ref().is_some_and(|c| {
            repo.files
                .get(&s.file)
                .and_then(|f| f.documents.get(c.document))
                .is_some_and(is_helm_release)
        })
    };
    // The values files a release reads: those it lists (Flux's
    // valuesFiles, merged in order, the last winning; the default is
    // then not read), else its chart's default; a parent's release
    // renders this chart's default too.
    let parent_default = parent.as_deref().map(|p| {
        if p.is_empty() {
            "values.yaml".to_string()
        } else {
            format!("{p}/values.yaml")
        }
    });
    let listed_by = |release: &(String, usize)| -> Option<Vec<String>> {
        let listed = listed_values_files(
            repo.files
                .get(&release.0)?
                .documents
                .get(release.1)?
                .value
                .as_ref()?,
        );
        (!listed.is_empty()).then_some(listed)
    };
    let reads = |release: &(String, usize), file: &str| {
        let of_parent = parent_releases.contains(release);
        match listed_by(release) {
            Some(listed) => {
                listed.iter().any(|l| same_file(l, file)) || (of_parent && file == default_values)
            }
            None => {
                file == default_values || (of_parent && parent_default.as_deref() == Some(file))
            }
        }
    };
    let packaged_reading = |patched: &[&Setting]| -> Vec<String> {
        patched
            .iter()
            .filter(|s| !in_release(s))
            .flat_map(|s| {
                packaged
                    .iter()
                    .filter(|r| reads(r, &s.file))
                    .map(|r| {
                        format!(
                            "{} reads {} from a Helm repository",
                            release_label(r),
                            s.file
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    // A parent's values file its release does not read (its valuesFiles
    // replace the parent's values.yaml) sets nothing (verify56 V56-3).
    if !parent_releases.is_empty() {
        parents.retain(|s| parent_releases.iter().any(|r| reads(r, &s.file)));
    }
    // A release by chartRef renders a chart polscan does not follow (an
    // OCIRepository's published chart, or a HelmChart listing values
    // files of its own): a patch of Git's values files may not reach it
    // (verify56 V56-1, V56-2). Its own spec.values are its own.
    let by_reference_reading = |patched: &[&Setting]| -> Option<String> {
        (!by_reference_files.is_empty() && patched.iter().any(|s| !in_release(s))).then(|| {
            format!(
                "{key}: {} renders the chart by chartRef (an OCIRepository's published chart, or a HelmChart with values files of its own; not followed here): a patch of Git's values files may not reach it; switch the action in its spec.values, or by hand",
                by_reference_files.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    };
    let packaged_any = packaged_reading(
        &defaults
            .iter()
            .chain(&others)
            .chain(&parents)
            .collect::<Vec<_>>(),
    );
    // The parent's value overrides the subchart's default; an
    // environment's file or a release's values, over both, still decide.
    // (Only without --policy-values: an environment's file decides then,
    // verify50 V50-5.)
    if !parents.is_empty()
        && others.is_empty()
        && environment_values.is_empty()
        && consumers.len() <= 1
        && !fan_out
        && packaged_any.is_empty()
        && by_reference_files.is_empty()
    {
        return Ok((parents, None));
    }
    others.extend(parents);
    let named: Vec<Setting> = others
        .iter()
        .chain(&defaults)
        .filter(|s| environment_values.contains(&s.file))
        .cloned()
        .collect();
    let all: Vec<String> = defaults
        .iter()
        .chain(&others)
        .map(|s| format!("{}:{}", s.file, s.first_line() + 1))
        .collect();
    if defaults.len() + others.len() == 0 {
        return Err(format!(
            "no values file sets {key}, which {} reads (a template's default is not patched)",
            read_by.describe()
        ));
    }
    if !environment_values.is_empty() {
        if !named.is_empty() {
            // A release's spec.values win over the values files it lists
            // (Flux merges them last: walk49 W49-3, a patch of the
            // environment's file changed nothing).
            // A release reading none of the named files is another
            // environment's: Flux gives a release the chart's default
            // values.yaml, or the valuesFiles it lists (verify53 V53-6).
            let named_default = environment_values.contains(&default_values);
            let lists_named = |s: &Setting| {
                let files = s.check.as_ref().and_then(|c| {
                    Some(listed_values_files(
                        repo.files
                            .get(&s.file)?
                            .documents
                            .get(c.document)?
                            .value
                            .as_ref()?,
                    ))
                });
                named_default
                    || files.is_some_and(|files| {
                        files.iter().any(|listed| {
                            environment_values
                                .iter()
                                .any(|named| same_file(listed, named))
                        })
                    })
            };
            let over: Vec<String> = others
                .iter()
                .filter(|s| in_release(s) && !environment_values.contains(&s.file))
                .filter(|s| lists_named(s))
                .map(|s| format!("{}:{}", s.file, s.first_line() + 1))
                .collect();
            if !over.is_empty() && named.iter().all(|s| !in_release(s)) {
                return Err(format!(
                    "{key} is also set in {}, a HelmRelease's spec.values, which Flux merges over the values files: if it is this cluster's release, name it with --policy-values (its value decides)",
                    over.join(", ")
                ));
            }
            // Who reads what the patch edits (verify54 V54-1): a release's
            // spec.values, that release; a values file, every release
            // listing it (the default: every release listing none), every
            // Argo CD render and parent of the chart. More than one: the
            // patch switches another cluster's, unjudged.
            let mut readers: BTreeSet<String> = BTreeSet::new();
            let mut later: Vec<String> = Vec::new();
            for setting in &named {
                if in_release(setting) {
                    if let Some(check) = &setting.check {
                        let release = (setting.file.clone(), check.document);
                        // Named, but maybe another namespace's release
                        // (verify57 V57-3).
                        if let (Some(want), true) = (release_namespace, unplaced.contains(&release))
                        {
                            return Err(format!(
                                "{key} is set in {}, whose release namespace is not written here (no spec.targetNamespace; a kustomize namespace or a Flux Kustomization's targetNamespace may set it): it may release the policy into another namespace than {want}; write its spec.targetNamespace",
                                release_label(&release)
                            ));
                        }
                        readers.insert(release_label(&release));
                    }
                    continue;
                }
                for release in releases.iter().filter(|r| reads(r, &setting.file)) {
                    readers.insert(release_label(release));
                    // A file listed after it setting the key wins (Flux
                    // merges valuesFiles in order, verify54 V54-2).
                    let listed = listed_by(release).unwrap_or_default();
                    let after = listed
                        .iter()
                        .skip_while(|l| !same_file(l, &setting.file))
                        .skip(1);
                    for file in after {
                        if let Some(over) = defaults
                            .iter()
                            .chain(&others)
                            .find(|s| !in_release(s) && same_file(file, &s.file))
                        {
                            later.push(format!(
                                "{}:{} (listed after {} by {})",
                                over.file,
                                over.first_line() + 1,
                                setting.file,
                                release_label(release)
                            ));
                        }
                    }
                }
                // A release by chartRef (a HelmChart may list any values
                // file; not followed here) may read it too.
                readers.extend(by_reference_files.iter().cloned());
                if setting.file == default_values {
                    readers.extend(argo.iter().cloned());
                    readers.extend(counted_parents.iter().cloned());
                }
            }
            if !later.is_empty() {
                return Err(format!(
                    "{key} is set again in {}, which Flux merges over the --policy-values file: a patch of it would change nothing the release gets; switch the action in the last file setting it",
                    later.join(", ")
                ));
            }
            if let Some(reason) = by_reference_reading(&named.iter().collect::<Vec<_>>()) {
                return Err(reason);
            }
            let packaged_named = packaged_reading(&named.iter().collect::<Vec<_>>());
            if !packaged_named.is_empty() {
                return Err(format!(
                    "{key}: {}; a patch of Git's chart reaches it only in a newly published chart version: switch the action in its spec.values, or publish the chart",
                    packaged_named.join(", ")
                ));
            }
            if readers.len() > 1 || (fan_out && named.iter().any(|s| s.file == default_values)) {
                return Err(format!(
                    "{key} is set in {}, which several read ({}): a patch would switch another cluster's too; set the action where this cluster's release alone reads it (its own values file, or its spec.values) and name that with --policy-values",
                    named
                        .iter()
                        .map(|s| format!("{}:{}", s.file, s.first_line() + 1))
                        .collect::<Vec<_>>()
                        .join(", "),
                    readers.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            return Ok((named, None));
        }
        // The package judged this environment alone: patching the
        // default would switch every other one, unjudged (verify48 V48-9).
        if !defaults.is_empty() && others.is_empty() {
            // In a HelmRelease the key goes under spec.values (verify58
            // V58-7); the default is patched without --policy-values only
            // where one release renders the chart.
            let first = environment_values.first().map_or("it", String::as_str);
            let release_file = repo
                .files
                .get(first)
                .is_some_and(|f| f.documents.iter().any(is_helm_release));
            let setting = if release_file {
                format!("spec.values.{key}: Enforce")
            } else {
                format!("{key}: Enforce")
            };
            return Err(format!(
                "the environment's values file(s) ({}) do not set {key}, which the chart's default {default_values} sets for every environment: a patch of it would switch them all; add `{setting}` to {first} to switch this environment alone (Helm merges it over the default){}",
                environment_values.join(", "),
                if consumers.len() <= 1 && !fan_out {
                    ", or build the package without --policy-values to patch the default"
                } else {
                    ""
                }
            ));
        }
        return Err(format!(
            "{key} is set in {}, none of them --policy-values {}",
            all.join(", "),
            environment_values.join(", ")
        ));
    }
    if !packaged_any.is_empty() {
        return Err(format!(
            "{key}: {}; a patch of Git's chart reaches it only in a newly published chart version: switch the action in its spec.values, or publish the chart",
            packaged_any.join(", ")
        ));
    }
    let candidates: Vec<&Setting> = defaults.iter().chain(&others).collect();
    if let Some(reason) = by_reference_reading(&candidates) {
        return Err(reason);
    }
    // A values file in no chart, not named: nothing ties it to this
    // chart's release (another chart may use the same key).
    let loose = |s: &Setting| !in_release(s) && longest_root(&s.file, &repo.charts).is_none();
    // One release (or one Argo CD Application) renders the chart: what it
    // reads decides, in Flux's order — its spec.values, else the last
    // file it lists that sets the key, else the default — and a file it
    // does not read is another environment's (verify55 V55-2, V55-3,
    // V55-5: a values.yaml the release's valuesFiles replace, and a
    // values-staging.yaml no release here reads, were patched).
    // An umbrella's one release setting the key in its spec.values
    // decides too: Flux merges them over every values file (verify56
    // V56-9).
    if consumers.len() == 1 && !fan_out {
        if let Some(release) = releases.iter().next() {
            let own: Vec<Setting> = others
                .iter()
                .filter(|s| {
                    s.file == release.0 && s.check.as_ref().is_some_and(|c| c.document == release.1)
                })
                .cloned()
                .collect();
            if !own.is_empty() {
                return Ok((own, None));
            }
        }
    }
    if consumers.len() == 1 && !fan_out && parent_folders.is_empty() {
        if let Some(release) = releases.iter().next() {
            let order = listed_by(release).unwrap_or_else(|| vec![default_values.clone()]);
            let last = order.iter().rev().find_map(|listed| {
                let found: Vec<Setting> = defaults
                    .iter()
                    .chain(&others)
                    .filter(|s| !in_release(s) && same_file(listed, &s.file))
                    .cloned()
                    .collect();
                (!found.is_empty()).then_some(found)
            });
            return last.map(|found| (found, None)).ok_or_else(|| {
                format!(
                    "{key} is set in {}, and {} reads none of them (it reads {}): a patch there would switch another environment's release, not this one; set `{key}` in the last file it reads",
                    all.join(", "),
                    release_label(release),
                    order.join(", ")
                )
            });
        }
        if argo.len() == 1 {
            // An Application without helm values reads the default.
            return if defaults.is_empty() {
                Err(format!(
                    "{key} is set in {}, which {} does not read (it renders the chart with its default {default_values})",
                    all.join(", "),
                    argo[0]
                ))
            } else {
                Ok((defaults, None))
            };
        }
    }
    match (defaults.len(), others.len()) {
        (0, 1) if loose(&others[0]) => Err(format!(
            "{key} is set only in {}, which is in no chart: if this cluster's release of the chart reads it, name it with --policy-values",
            all.join(", ")
        )),
        // A release by chartRef may be another chart's (verify51 V51-2).
        (0, 1) if by_reference_files.contains(&others[0].file) => Err(format!(
            "{key} is set only in {}, a HelmRelease by chartRef (not followed here): if it releases this chart in this cluster, name it with --policy-values",
            all.join(", ")
        )),
        // Several render the chart: the default, or a file one of them
        // reads, may be another cluster's (verify51 V51-5, verify52 V52-3,
        // verify53 V53-3, V53-4, V53-7, V53-8): named with --policy-values
        // only.
        _ if consumers.len() > 1 || fan_out => Err(format!(
            "{key} is set in {}, and several render this chart ({}): a patch may switch another cluster's; name this cluster's file with --policy-values",
            all.join(", "),
            consumers.join(", ")
        )),
        // Nothing here renders the chart (released from another
        // repository): what its release reads is not known (verify57
        // V57-7).
        (_, 0) if consumers.is_empty() => Ok((
            defaults,
            Some(format!(
                "no HelmRelease, Argo CD Application or parent chart of {} is in the checkout: the patch edits the chart's default {default_values}, which every release reads unless its valuesFiles, spec.values or valuesFrom set {key} — check the release that deploys it (another repository?) before applying",
                if chart.is_empty() { "." } else { chart }
            )),
        )),
        (_, 0) => Ok((defaults, None)),
        (0, 1) => Ok((others, None)),
        _ => Err(format!(
            "{key} is set in several values files ({}): name this cluster's environment's file with --policy-values",
            all.join(", ")
        )),
    }
}

/// The namespace a Flux HelmRelease (`value`, in repository file `path`)
/// releases into, when this repository says: its `spec.targetNamespace`,
/// else its own namespace — unless a kustomization's `namespace:` or a
/// Flux Kustomization's `spec.targetNamespace` building its file may
/// replace that (then None), or it is computed (`{{ }}`, `${}`).
fn release_namespace_of(repo: &Repository, path: &str, value: &Value) -> Option<String> {
    let literal = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|ns| !ns.is_empty() && !ns.contains("{{") && !ns.contains("${"))
            .map(str::to_string)
    };
    if let Some(target) = value.pointer("/spec/targetNamespace") {
        return literal(Some(target));
    }
    let replaced = repo.files.iter().any(|(other, entry)| {
        entry
            .documents
            .iter()
            .filter_map(|d| d.value.as_ref())
            .any(|v| {
                // A patch, transformer or replacement may set the
                // namespace or spec.targetNamespace (verify61 V61-2).
                let reshapes = [
                    "patches",
                    "patchesJson6902",
                    "patchesStrategicMerge",
                    "transformers",
                    "replacements",
                ]
                .iter()
                .any(|key| v.get(*key).is_some() || v.pointer(&format!("/spec/{key}")).is_some());
                if is_kustomization_file(other) {
                    (v.get("namespace").is_some() || reshapes)
                        && kustomization_applies_to(repo, other, path)
                } else if v
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|api| api.starts_with("kustomize.toolkit.fluxcd.io/"))
                {
                    // What it builds, through its folder's kustomization
                    // (verify60 V60-4: an overlay of a base release).
                    (v.pointer("/spec/targetNamespace").is_some() || reshapes) && {
                        let folder = joined(
                            "",
                            v.pointer("/spec/path")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                        );
                        folder_builds(repo, &folder, path)
                    }
                } else {
                    false
                }
            })
    });
    if replaced {
        return None;
    }
    literal(value.pointer("/metadata/namespace"))
}

/// The values files a Flux HelmRelease (`value`) lists, as repository
/// paths in Flux's merge order: v2beta1's single `valuesFile` (merged
/// first, verify56 V56-11), then `spec.chart.spec.valuesFiles`; empty when
/// it lists none (it reads the default).
fn listed_values_files(value: &Value) -> Vec<String> {
    let spec = value.pointer("/spec/chart/spec");
    let many = spec
        .and_then(|s| s.get("valuesFiles"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let one = spec
        .and_then(|s| s.get("valuesFile"))
        .and_then(Value::as_str);
    one.into_iter().chain(many).map(|f| joined("", f)).collect()
}

/// Whether a listed values file (`listed`, a repository path as Flux's
/// `valuesFiles` gives it) is `file`: the same path, or one ending the
/// other at a folder boundary (Flux reads them from the source's root,
/// which may be a folder of the checkout).
fn same_file(listed: &str, file: &str) -> bool {
    listed == file || file.ends_with(&format!("/{listed}")) || listed.ends_with(&format!("/{file}"))
}

/// The places that render `chart` with values polscan does not read:
/// kustomize patches of its HelmReleases (`release_names`; by target kind
/// and name, or a patch naming one), kustomize `helmCharts` entries of
/// it, and Argo CD Applications (or ApplicationSets) giving it `helm`
/// values. Each as `<file> (<what>)`.
fn release_value_overrides(
    repo: &Repository,
    chart: &str,
    chart_names: &[String],
    release_names: &BTreeSet<String>,
) -> Vec<String> {
    let names_release = |text: &str| {
        text.contains("HelmRelease")
            && text.lines().any(|line| {
                line.trim().strip_prefix("name:").is_some_and(|v| {
                    release_names.contains(unquote(v.split(" #").next().unwrap_or(v)))
                })
            })
    };
    let mut found = Vec::new();
    for (path, file) in &repo.files {
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for value in file.documents.iter().filter_map(|d| d.value.as_ref()) {
            // kustomize's patches, or a Flux Kustomization's.
            let patches = [
                "/patches",
                "/patchesJson6902",
                "/spec/patches",
                "/patchesStrategicMerge",
            ]
            .into_iter()
            .filter_map(|pointer| value.pointer(pointer)?.as_array())
            .flatten();
            for patch in patches {
                let target = patch.get("target");
                let kind = target.and_then(|t| t.get("kind")).and_then(Value::as_str);
                let name = target.and_then(|t| t.get("name")).and_then(Value::as_str);
                let by_target = kind == Some("HelmRelease")
                    && name.is_none_or(|name| {
                        regex::Regex::new(&format!("^(?:{name})$")).map_or(true, |pattern| {
                            release_names.iter().any(|n| pattern.is_match(n))
                        })
                    });
                // Inline (`patch:`, or a patchesStrategicMerge string
                // holding YAML), else the file it names.
                let inline = patch.get("patch").and_then(Value::as_str).or(patch
                    .as_str()
                    .filter(|t| t.contains('\n') || t.contains("kind:")));
                let text = inline
                    .map(str::to_string)
                    .or_else(|| {
                        patch
                            .get("path")
                            .and_then(Value::as_str)
                            .or(patch.as_str())
                            .and_then(|relative| repo.text(&joined(folder, relative)))
                            .map(str::to_string)
                    })
                    .unwrap_or_default();
                // A target of no kind selecting by labels or annotations
                // may select a release (verify53 V53-5).
                let by_selector = kind.is_none()
                    && target.is_some_and(|t| {
                        t.get("labelSelector").is_some() || t.get("annotationSelector").is_some()
                    });
                if (by_target || by_selector || (kind.is_none() && names_release(&text)))
                    && !release_names.is_empty()
                {
                    found.push(format!("{path} (a kustomize patch of a HelmRelease)"));
                }
            }
            for entry in value
                .get("helmCharts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if entry
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| chart_names.iter().any(|n| n == name))
                {
                    found.push(format!("{path} (kustomize helmCharts)"));
                }
            }
            // kustomize's HelmChartInflationGenerator (a `generators:`
            // entry) renders a chart with values of its own (verify54
            // V54-3).
            let generator = value.get("kind").and_then(Value::as_str)
                == Some("HelmChartInflationGenerator")
                && ["chartName", "name"].iter().any(|field| {
                    value
                        .get(*field)
                        .and_then(Value::as_str)
                        .is_some_and(|name| chart_names.iter().any(|n| n == name))
                });
            if generator {
                found.push(format!("{path} (a kustomize HelmChartInflationGenerator)"));
            }
            let argo = value
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("argoproj.io/"));
            if argo {
                for source in argo_sources(value) {
                    if !argo_source_renders(source, chart, chart_names) {
                        continue;
                    }
                    // Only a field that may give values counts (verify78
                    // F2: `helm: {releaseName: …}` was refused); one not
                    // known here may.
                    const NO_VALUES: [&str; 10] = [
                        "releaseName",
                        "skipCrds",
                        "version",
                        "passCredentials",
                        "ignoreMissingValueFiles",
                        "skipTests",
                        "skipSchemaValidation",
                        "namespace",
                        "kubeVersion",
                        "apiVersions",
                    ];
                    let giving: Vec<&str> = match source.get("helm") {
                        None => Vec::new(),
                        // An empty one gives nothing either (verify79
                        // V79-6: `valuesObject: {}`).
                        Some(Value::Object(helm)) => helm
                            .iter()
                            .filter(|(key, value)| {
                                !NO_VALUES.contains(&key.as_str())
                                    && !matches!(value, Value::Null)
                                    && value.as_str().is_none_or(|text| !text.trim().is_empty())
                                    && value.as_object().is_none_or(|map| !map.is_empty())
                                    && value.as_array().is_none_or(|items| !items.is_empty())
                            })
                            .map(|(key, _)| key.as_str())
                            .collect(),
                        Some(_) => vec!["helm"],
                    };
                    if !giving.is_empty() {
                        found.push(format!(
                            "{path} (an Argo CD Application's helm {})",
                            giving.join(", ")
                        ));
                    }
                }
            }
        }
    }
    found.dedup();
    found
}

/// The line edits setting every action of `located` to `target`, per
/// file; the edited texts and the diff.
fn change(
    repo: &Repository,
    located: &Located,
    target: Target,
) -> Result<(BTreeMap<String, String>, String), String> {
    let mut edits: BTreeMap<&str, BTreeMap<usize, LineEdit>> = BTreeMap::new();
    for setting in &located.settings {
        let Some(text) = repo.text(&setting.file) else {
            continue;
        };
        let all = diff::lines(text);
        let line_of = |line: usize| {
            all.get(line)
                .map(|l| l.trim_end_matches(['\n', '\r']))
                .unwrap_or("")
        };
        let word = setting.words.word(target);
        let file_edits = edits.entry(setting.file.as_str()).or_default();
        let mut set = |line: usize, edit: LineEdit| -> Result<(), String> {
            match file_edits.insert(line, edit.clone()) {
                Some(previous) if previous != edit => Err(format!(
                    "{}:{}: two changes of one line",
                    setting.file,
                    line + 1
                )),
                _ => Ok(()),
            }
        };
        let replaced = |line: usize, value: &Range<usize>, new: &str| {
            let text = line_of(line);
            format!("{}{new}{}", &text[..value.start], &text[value.end..])
        };
        // A Flux variable is substituted per cluster: a literal in its
        // place would switch every cluster building the file (verify49
        // V49-11).
        let written_here = match &setting.form {
            Form::Scalar { line, value } | Form::FlowList { line, value } => {
                vec![line_of(*line).get(value.clone()).unwrap_or("")]
            }
            Form::BlockList { items } => items
                .iter()
                .map(|(line, value)| line_of(*line).get(value.clone()).unwrap_or(""))
                .collect(),
        };
        if let Some(variable) = written_here.iter().find(|v| v.contains("${")) {
            return Err(format!(
                "{}: the action is the Flux variable {variable}, substituted per cluster: set it in this cluster's Kustomization (spec.postBuild.substitute) instead; no patch of the shared file is made",
                setting.describe()
            ));
        }
        match &setting.form {
            Form::Scalar { line, value } => {
                let old = &line_of(*line)[value.clone()];
                if !unquote(old).eq_ignore_ascii_case(word) {
                    set(
                        *line,
                        LineEdit::Replace(replaced(*line, value, &requote(old, word))),
                    )?;
                }
            }
            Form::FlowList { line, value } => {
                let old = &line_of(*line)[value.clone()];
                let items = flow_items(old).unwrap_or_default();
                let already = items.len() == 1 && unquote(items[0]) == word;
                if !already {
                    let first = items.first().copied().unwrap_or("");
                    set(
                        *line,
                        LineEdit::Replace(replaced(
                            *line,
                            value,
                            &format!("[{}]", requote(first, word)),
                        )),
                    )?;
                }
            }
            Form::BlockList { items } => {
                let already =
                    items.len() == 1 && unquote(&line_of(items[0].0)[items[0].1.clone()]) == word;
                if !already {
                    for (position, (line, value)) in items.iter().enumerate() {
                        if position == 0 {
                            let old = &line_of(*line)[value.clone()];
                            set(
                                *line,
                                LineEdit::Replace(replaced(*line, value, &requote(old, word))),
                            )?;
                        } else {
                            set(*line, LineEdit::Delete)?;
                        }
                    }
                }
            }
        }
    }
    let mut texts = BTreeMap::new();
    let mut out = String::new();
    for (file, file_edits) in edits {
        if file_edits.is_empty() {
            continue;
        }
        if file.chars().any(char::is_whitespace) || file.contains('"') || file.contains('\\') {
            return Err(format!("{file}: a path git would quote; no patch is made"));
        }
        let Some(text) = repo.text(file) else {
            continue;
        };
        if diff::has_lone_carriage_return(text) {
            return Err(format!(
                "{file}: a carriage return that ends no CRLF (old Mac line endings?), which git and YAML split differently; no patch is made"
            ));
        }
        let edited = diff::apply(text, &file_edits);
        read_back(file, &edited, &located.settings, target)?;
        let radius = naming_radius(repo, file, file_edits.keys().copied());
        out.push_str(&diff::unified_around(file, text, &edited, radius));
        texts.insert(file.to_string(), edited);
    }
    Ok((texts, out))
}

/// The rules `policy` enforces in `texts` (files as YAML), as Kyverno
/// reads its actions; empty where it is not found as YAML (a template).
fn enforced_rules_in(texts: &BTreeMap<String, String>, policy: &PolicyRef<'_>) -> Vec<String> {
    texts
        .values()
        .flat_map(|text| documents(text, true))
        .filter_map(|document| document.value)
        .filter(|value| {
            value.get("kind").and_then(Value::as_str) == Some(policy.kind)
                && value.pointer("/metadata/name").and_then(Value::as_str) == Some(policy.name)
                && value.pointer("/metadata/namespace").and_then(Value::as_str) == policy.namespace
        })
        .flat_map(|value| enforced_rule_names(&value))
        .collect()
}

/// The rules a policy document enforces somewhere (its own action or an
/// override), as Kyverno reads its actions ([`PolicyInfo`]).
///
/// [`PolicyInfo`]: crate::ingest::policy_info::PolicyInfo
fn enforced_rule_names(document: &Value) -> Vec<String> {
    crate::ingest::policy_info::PolicyInfo::from_document(document)
        .into_iter()
        .flat_map(|info| info.rules)
        .filter(|rule| rule.action == "Enforce" || rule.action == "Mixed")
        .map(|rule| rule.name)
        .collect()
}

/// The rules `policy`'s Helm template still enforces once every templated
/// action reads Audit: a rule's literal `failureAction: Enforce` (verify49
/// V49-2: a ROLL BACK through the values key left it enforced, unsaid).
/// Empty where no such template reads as YAML.
fn template_enforced_rules(repo: &Repository, policy: &PolicyRef<'_>) -> Vec<String> {
    repo.files
        .values()
        .filter(|file| file.template_of.is_some())
        .flat_map(|file| {
            file.documents
                .iter()
                .filter(|d| d.value.is_none())
                .filter(|d| {
                    d.identity
                        .as_ref()
                        .is_some_and(|i| i.kind == policy.kind && i.name == policy.name)
                })
                .filter_map(move |d| soaked::action_only_template(&file.lines(d), policy.namespace))
        })
        .flat_map(|value| enforced_rule_names(&value))
        .collect()
}

/// The first YAML alias of `text` (`*name` as a value or item, or a
/// `<<` merge key), comments aside; None when it has none.
fn first_alias(text: &str) -> Option<String> {
    for line in text.lines() {
        let bare = line.split(" #").next().unwrap_or(line).trim_start();
        if bare.starts_with('#') {
            continue;
        }
        if bare.starts_with("<<:") || bare.starts_with("\"<<\":") {
            return Some(bare.to_string());
        }
        let bytes = bare.as_bytes();
        for (at, byte) in bytes.iter().enumerate() {
            if *byte != b'*' {
                continue;
            }
            let before = bare[..at].trim_end();
            let starts_value = before.is_empty()
                || before.ends_with(':')
                || before.ends_with('-')
                || before.ends_with('[')
                || before.ends_with(',')
                || before.ends_with('{');
            let name: String = bare[at + 1..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
                .collect();
            if starts_value && !name.is_empty() {
                return Some(format!("*{name}"));
            }
        }
    }
    None
}

/// `line` with its template expressions (`{{ … }}`) taken out: what it
/// says for sure, whatever the values.
fn without_expressions(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The most context lines a hunk takes to reach its document's name.
const MAX_CONTEXT: usize = 100;

/// The context lines a hunk changing `lines` of `file` needs to reach
/// back to each one's document's name and namespace (or its first line), between
/// [`diff::CONTEXT`] and [`MAX_CONTEXT`] (one for a values file): a hunk of three lines fits
/// another policy's identical lines once the file is reordered, and
/// `git apply` takes any offset (verify47 V47-15: a GO's patch enforced
/// another, NO-GO policy).
fn naming_radius(repo: &Repository, file: &str, lines: impl Iterator<Item = usize>) -> usize {
    let Some(repo_file) = repo.files.get(file) else {
        return diff::CONTEXT;
    };
    // A values file names no policy: one line of context, so patches of
    // nearby keys apply one after another (walk48 W48-2).
    if is_values_file(file) {
        return 1;
    }
    lines
        .filter_map(|line| {
            let document = repo_file
                .documents
                .iter()
                .find(|d| d.lines.contains(&line))?;
            // Its name and namespace, above or below the change (metadata
            // may follow spec): two Policies `a` differ by namespace
            // alone (verify48 V48-7, verify49 V49-3).
            document
                .entries
                .iter()
                .filter(|e| {
                    e.path_is(&[Some("metadata"), Some("name")])
                        || e.path_is(&[Some("metadata"), Some("namespace")])
                })
                .map(|e| line.abs_diff(document.lines.start + e.line))
                .max()
                .or_else(|| line.checked_sub(document.lines.start))
        })
        .max()
        .unwrap_or(0)
        .clamp(diff::CONTEXT, MAX_CONTEXT)
}

/// Reads the edited file back as YAML: every action checked must now say
/// `target`, or no patch is made.
fn read_back(file: &str, edited: &str, settings: &[Setting], target: Target) -> Result<(), String> {
    let docs = documents(edited, true);
    for setting in settings.iter().filter(|s| s.file == file) {
        let Some(check) = &setting.check else {
            continue;
        };
        let word = setting.words.word(target);
        let value = docs
            .get(check.document)
            .and_then(|d| d.value.as_ref())
            .and_then(|v| v.pointer(&check.pointer));
        let fine = match (value, &setting.form) {
            (Some(Value::String(text)), Form::Scalar { .. }) => text.eq_ignore_ascii_case(word),
            (Some(Value::Array(items)), Form::FlowList { .. } | Form::BlockList { .. }) => {
                items.len() == 1 && items[0].as_str() == Some(word)
            }
            _ => false,
        };
        if !fine {
            return Err(format!(
                "{}: the edited file does not read back as {word}; no patch is made",
                setting.describe()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
