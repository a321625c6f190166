//! How large a value that evaluation made is, counted up to a limit: a
//! JMESPath [`Variable`] or a CEL [`cel::Value`] enters; whether it is
//! larger than the limit leaves. Values share their parts (an array holding
//! one string sixteen times costs one string), so a few steps that each
//! repeat the last one's value sixteen times reach terabytes as soon as
//! the value is written out, joined or converted: the count is of the
//! value as written out, and stops at the limit so counting stays cheap.
//! [`MAX_VALUE_BYTES`] bounds every JMESPath result, Kyverno function
//! result and CEL variable, so such a policy gets an `error` result
//! instead of taking the process's memory (Kyverno itself bounds none of
//! them: an admission controller would run out of memory).

use jmespath::Variable;
use kube_cel::cel;

/// The most bytes a value evaluation made may take, written out: 16 MiB,
/// ten times the largest object etcd stores (1.5 MiB).
pub const MAX_VALUE_BYTES: usize = 16 << 20;

/// What each value node counts besides its text: a number, a bracket.
pub(crate) const NODE_BYTES: usize = 8;

/// Whether `value` written out as JSON takes more than `limit` bytes
/// (roughly: texts and keys by their length, other nodes 8 bytes each).
pub(crate) fn jmespath_exceeds(value: &Variable, limit: usize) -> bool {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        total = total.saturating_add(NODE_BYTES);
        match value {
            Variable::String(text) => total = total.saturating_add(text.len()),
            Variable::Array(items) => stack.extend(items.iter().map(|item| &**item)),
            Variable::Object(map) => {
                for (key, item) in map {
                    total = total.saturating_add(key.len());
                    stack.push(item);
                }
            }
            Variable::Null | Variable::Bool(_) | Variable::Number(_) | Variable::Expref(_) => {}
        }
        if total > limit {
            return true;
        }
    }
    false
}

/// Whether `value` written out takes more than `limit` bytes, counted as
/// [`jmespath_exceeds`] counts.
pub(crate) fn cel_exceeds(value: &cel::Value, limit: usize) -> bool {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        total = total.saturating_add(NODE_BYTES);
        match value {
            cel::Value::String(text) => total = total.saturating_add(text.len()),
            cel::Value::Bytes(bytes) => total = total.saturating_add(bytes.len()),
            cel::Value::List(items) => stack.extend(items.iter()),
            cel::Value::Map(map) => {
                for (key, item) in map.map.iter() {
                    if let cel::objects::Key::String(key) = key {
                        total = total.saturating_add(key.len());
                    }
                    stack.push(item);
                }
            }
            _ => {}
        }
        if total > limit {
            return true;
        }
    }
    false
}

/// The error text of a value over [`MAX_VALUE_BYTES`]; `what` names it
/// ("the result", "variable x").
pub(crate) fn too_large(what: &str) -> String {
    format!(
        "{what} is larger than {} MiB written out (polscan's bound on a value evaluation makes; Kyverno sets none)",
        MAX_VALUE_BYTES >> 20
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jmespath::Rcvar;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[test]
    fn a_shared_part_counts_each_time_it_is_written_and_counting_stops_at_the_limit() {
        let text = Rcvar::new(Variable::String("x".repeat(1000)));
        let mut value = text.clone();
        // Sixteen times the last, ten times: 10^3 * 16^10 bytes written out,
        // one string in memory.
        for _ in 0..10 {
            value = Rcvar::new(Variable::Array(vec![value.clone(); 16]));
        }
        assert!(jmespath_exceeds(&value, MAX_VALUE_BYTES));
        assert!(!jmespath_exceeds(&text, MAX_VALUE_BYTES));
        assert!(jmespath_exceeds(&text, 999));
        let object = Variable::Object(BTreeMap::from([("k".repeat(20), text.clone())]));
        assert!(!jmespath_exceeds(&object, 1100));
        assert!(jmespath_exceeds(&object, 1020));
    }

    #[test]
    fn a_cel_value_is_counted_the_same_way() {
        let text = cel::Value::String(Arc::new("y".repeat(1000)));
        let mut value = text.clone();
        for _ in 0..10 {
            value = cel::Value::List(Arc::new(vec![value.clone(); 16]));
        }
        assert!(cel_exceeds(&value, MAX_VALUE_BYTES));
        assert!(!cel_exceeds(&text, MAX_VALUE_BYTES));
        assert!(cel_exceeds(
            &cel::Value::Bytes(Arc::new(vec![0; 2000])),
            1000
        ));
        assert!(!cel_exceeds(&cel::Value::Int(7), 100));
    }
}
