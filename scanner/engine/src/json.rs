//! Reading strings out of JSON documents: a `serde_json::Value` (a policy,
//! a resource, a report) enters with a key, a JSON pointer or a label or
//! annotation name; the string found there leaves, as `Option<&str>` (or an
//! owned `String`, empty when absent). A missing field and a field that holds
//! something other than a string (a number, `null`, an object) give the same
//! answer: `None`, or the empty string. [`ValueExt`] names the few shapes the
//! crates repeat, so each reads as what it looks up.

use serde_json::Value;

/// String look-ups on a JSON value. Every method answers `None` (or `""`)
/// both when nothing is at the place asked and when what is there is not a
/// JSON string; none converts numbers or booleans to text.
pub trait ValueExt {
    /// The string under `key` of this object: `value.get(key)` when it is a
    /// string. `None` when this is not an object, the key is absent or its
    /// value is not a string.
    fn str_field(&self, key: &str) -> Option<&str>;

    /// The string at the JSON pointer `pointer` (RFC 6901, e.g.
    /// `/metadata/name`; `~1` stands for `/` inside a key). `None` when the
    /// pointer leads nowhere or to something other than a string.
    fn str_at(&self, pointer: &str) -> Option<&str>;

    /// The string at the JSON pointer `pointer`, owned; the empty string when
    /// [`str_at`](ValueExt::str_at) gives `None`. For identity fields
    /// (`/metadata/name`, `/kind`) that Kubernetes treats as empty when
    /// unset.
    fn string_at_or_empty(&self, pointer: &str) -> String;

    /// The value of the label `key` in `metadata.labels` (a key such as
    /// `app.kubernetes.io/managed-by` is taken whole, not as a path). `None`
    /// when there are no labels, no such label or its value is not a string.
    fn label(&self, key: &str) -> Option<&str>;

    /// The value of the annotation `key` in `metadata.annotations` (the key
    /// taken whole, as for [`label`](ValueExt::label)). `None` when there are
    /// no annotations, no such annotation or its value is not a string.
    fn annotation(&self, key: &str) -> Option<&str>;
}

impl ValueExt for Value {
    fn str_field(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    fn str_at(&self, pointer: &str) -> Option<&str> {
        self.pointer(pointer).and_then(Value::as_str)
    }

    fn string_at_or_empty(&self, pointer: &str) -> String {
        self.str_at(pointer).unwrap_or("").to_string()
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.pointer("/metadata/labels")
            .and_then(|labels| labels.str_field(key))
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.pointer("/metadata/annotations")
            .and_then(|annotations| annotations.str_field(key))
    }
}

#[cfg(test)]
mod tests {
    use super::ValueExt;
    use serde_json::json;

    #[test]
    fn str_field_gives_strings_only() {
        let value = json!({"kind": "Pod", "replicas": 3, "empty": "", "none": null});
        assert_eq!(value.str_field("kind"), Some("Pod"));
        assert_eq!(value.str_field("empty"), Some(""));
        assert_eq!(value.str_field("replicas"), None);
        assert_eq!(value.str_field("none"), None);
        assert_eq!(value.str_field("missing"), None);
        assert_eq!(json!(["kind"]).str_field("kind"), None);
        assert_eq!(json!("kind").str_field("kind"), None);
    }

    #[test]
    fn str_at_follows_the_pointer() {
        let value = json!({
            "metadata": {"name": "web", "uid": 7, "a/b": "slash"},
            "spec": {"containers": [{"image": "nginx"}]}
        });
        assert_eq!(value.str_at("/metadata/name"), Some("web"));
        assert_eq!(value.str_at("/spec/containers/0/image"), Some("nginx"));
        assert_eq!(value.str_at("/metadata/a~1b"), Some("slash"));
        assert_eq!(value.str_at("/metadata/uid"), None);
        assert_eq!(value.str_at("/metadata"), None);
        assert_eq!(value.str_at("/metadata/namespace"), None);
        assert_eq!(value.str_at("metadata/name"), None);
    }

    #[test]
    fn string_at_or_empty_is_empty_when_absent_or_not_a_string() {
        let value = json!({"kind": "Pod", "metadata": {"name": "web", "uid": 7}});
        assert_eq!(value.string_at_or_empty("/kind"), "Pod");
        assert_eq!(value.string_at_or_empty("/metadata/name"), "web");
        assert_eq!(value.string_at_or_empty("/metadata/uid"), "");
        assert_eq!(value.string_at_or_empty("/metadata/namespace"), "");
    }

    #[test]
    fn label_and_annotation_take_the_key_whole() {
        let value = json!({"metadata": {
            "labels": {"app.kubernetes.io/managed-by": "polscan", "count": 1},
            "annotations": {"polscan.io/hash": "abc", "flag": true}
        }});
        assert_eq!(value.label("app.kubernetes.io/managed-by"), Some("polscan"));
        assert_eq!(value.label("count"), None);
        assert_eq!(value.label("missing"), None);
        assert_eq!(value.annotation("polscan.io/hash"), Some("abc"));
        assert_eq!(value.annotation("flag"), None);
        assert_eq!(value.annotation("app.kubernetes.io/managed-by"), None);
        assert_eq!(json!({"metadata": {}}).label("a"), None);
        assert_eq!(json!({}).annotation("a"), None);
        assert_eq!(json!({"metadata": {"labels": "x"}}).label("a"), None);
    }
}
