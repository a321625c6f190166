//! Functions over objects and arrays: lookup, items, object_from_lists and
//! label_match. They take and return the crate's variables directly, so
//! values pass through without copying.

use std::collections::BTreeMap;

use jmespath::{Rcvar, Variable};

use super::functions::{any, float, integer, string, Arg, KyvernoFunction};

pub(super) const FUNCTIONS: &[KyvernoFunction] = &[
    KyvernoFunction {
        name: "lookup",
        args: &[Arg::ObjectOrArray, Arg::StringOrNumber],
        handler: lookup,
    },
    KyvernoFunction {
        name: "items",
        args: &[Arg::ObjectOrArray, Arg::String, Arg::String],
        handler: items,
    },
    KyvernoFunction {
        name: "object_from_lists",
        args: &[Arg::Array, Arg::Array],
        handler: object_from_lists,
    },
    KyvernoFunction {
        name: "label_match",
        args: &[Arg::Object, Arg::Object],
        handler: label_match,
    },
];

fn lookup(args: &[Rcvar]) -> Result<Variable, String> {
    match any(args, 0)?.as_ref() {
        Variable::Object(map) => {
            let key = any(args, 1)?
                .as_string()
                .ok_or_else(|| "argument #2 is not of type String".to_string())?;
            Ok(map
                .get(key)
                .map(|v| v.as_ref().clone())
                .unwrap_or(Variable::Null))
        }
        Variable::Array(items) => {
            let index = any(args, 1)?
                .as_number()
                .ok_or_else(|| "argument #2 is not of type Number".to_string())?;
            let index = integer(index).map_err(|e| format!("argument #2: {e}"))?;
            // Out-of-range indexes give null, not an error.
            Ok(usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .map(|v| v.as_ref().clone())
                .unwrap_or(Variable::Null))
        }
        _ => Err("argument #1 is not of type Object or Array".to_string()),
    }
}

fn items(args: &[Rcvar]) -> Result<Variable, String> {
    let key_name = string(args, 1)?;
    let value_name = string(args, 2)?;
    let pair = |key: Variable, value: &Rcvar| {
        let mut entry = BTreeMap::new();
        entry.insert(key_name.to_string(), Rcvar::new(key));
        // When both names are equal Go's map keeps the value, set last.
        entry.insert(value_name.to_string(), value.clone());
        Rcvar::new(Variable::Object(entry))
    };
    match any(args, 0)?.as_ref() {
        // BTreeMap iterates in sorted key order, as Kyverno sorts the keys.
        Variable::Object(map) => Ok(Variable::Array(
            map.iter()
                .map(|(k, v)| pair(Variable::String(k.clone()), v))
                .collect(),
        )),
        Variable::Array(values) => {
            let mut out = Vec::with_capacity(values.len());
            for (index, value) in values.iter().enumerate() {
                out.push(pair(float(index as f64)?, value));
            }
            Ok(Variable::Array(out))
        }
        _ => Err("argument #1 is not of type Object or Array".to_string()),
    }
}

fn object_from_lists(args: &[Rcvar]) -> Result<Variable, String> {
    let keys = any(args, 0)?
        .as_array()
        .ok_or_else(|| "argument #1 is not of type Array".to_string())?;
    let values = any(args, 1)?
        .as_array()
        .ok_or_else(|| "argument #2 is not of type Array".to_string())?;
    let mut out = BTreeMap::new();
    for (index, key) in keys.iter().enumerate() {
        let key = match key.as_ref() {
            Variable::String(s) => s.clone(),
            Variable::Number(n) => super::functions::number_text(n.as_f64().unwrap_or(0.0)),
            Variable::Bool(b) => b.to_string(),
            _ => return Err("argument #1 is not of type StringArray".to_string()),
        };
        // Keys beyond the values get null.
        let value = values
            .get(index)
            .cloned()
            .unwrap_or_else(|| Rcvar::new(Variable::Null));
        out.insert(key, value);
    }
    Ok(Variable::Object(out))
}

fn label_match(args: &[Rcvar]) -> Result<Variable, String> {
    let selector = any(args, 0)?
        .as_object()
        .ok_or_else(|| "argument #1 is not of type Object".to_string())?;
    let labels = any(args, 1)?
        .as_object()
        .ok_or_else(|| "argument #2 is not of type Object".to_string())?;
    // Every selector entry must be present with an equal value.
    Ok(Variable::Bool(selector.iter().all(|(key, value)| {
        labels.get(key).is_some_and(|found| found == value)
    })))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::jmespath::test_support::{eval_on, fails_on};
    use serde_json::{json, Value};

    fn data() -> Value {
        json!({"obj": {"b": 2, "a": 1}, "arr": ["x", "y"],
               "labels": {"app": "web", "tier": "fe"}})
    }

    fn eval(expression: &str) -> Value {
        eval_on(expression, &data())
    }

    fn fails(expression: &str) -> String {
        fails_on(expression, &data())
    }

    #[test]
    fn lookup_keys_and_indexes() {
        assert_eq!(eval("lookup(obj, 'a')"), json!(1));
        assert_eq!(eval("lookup(obj, 'zz')"), Value::Null);
        assert_eq!(eval("lookup(arr, `1`)"), json!("y"));
        assert_eq!(eval("lookup(arr, `5`)"), Value::Null);
        assert_eq!(eval("lookup(arr, `-1`)"), Value::Null);
        assert!(fails("lookup(arr, `0.5`)").contains("integer"));
        assert!(fails("lookup(obj, `1`)").contains("argument #2"));
        assert!(fails("lookup(arr, 'a')").contains("argument #2"));
        assert!(fails("lookup('s', 'a')").contains("argument #1"));
    }

    #[test]
    fn items_of_objects_and_arrays() {
        assert_eq!(
            eval("items(obj, 'key', 'value')"),
            json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
        );
        assert_eq!(
            eval("items(arr, 'i', 'v')"),
            json!([{"i": 0, "v": "x"}, {"i": 1, "v": "y"}])
        );
        assert_eq!(eval("items(`{}`, 'k', 'v')"), json!([]));
        assert!(fails("items(obj, `1`, 'v')").contains("argument #2"));
    }

    #[test]
    fn object_from_lists_pairs_up() {
        assert_eq!(
            eval("object_from_lists(['a', 'b'], [`1`, `2`])"),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            eval("object_from_lists(['a', 'b'], [`1`])"),
            json!({"a": 1, "b": null})
        );
        assert_eq!(eval("object_from_lists([`1`], ['x'])"), json!({"1": "x"}));
        assert!(fails("object_from_lists([`[]`], ['x'])").contains("StringArray"));
    }

    #[test]
    fn label_match_is_subset() {
        assert_eq!(
            eval("label_match(`{\"app\": \"web\"}`, labels)"),
            json!(true)
        );
        assert_eq!(eval("label_match(`{}`, labels)"), json!(true));
        assert_eq!(
            eval("label_match(`{\"app\": \"db\"}`, labels)"),
            json!(false)
        );
        assert_eq!(
            eval("label_match(`{\"x\": \"web\"}`, labels)"),
            json!(false)
        );
        assert!(fails("label_match('a', labels)").contains("argument #1"));
    }
}
