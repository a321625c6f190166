//! The Kubernetes CEL libraries polscan relies on, each function evaluated
//! through polscan's own environment (the one every policy uses), with the
//! values Kubernetes documents. Expressions enter; JSON results or errors
//! are compared.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{to_json, Activation, CelInputs, Program};
use crate::engine::context::{ClusterData, NoClusterData};

fn eval(expression: &str) -> Result<Value, String> {
    let object = json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"replicas": 3, "ratio": 0.5}});
    let data: Arc<dyn ClusterData> = Arc::new(NoClusterData);
    let activation = Activation::new(
        &CelInputs {
            object,
            ..CelInputs::default()
        },
        &data,
    );
    Program::compile(expression)
        .evaluate(&activation)
        .map(|value| to_json(&value))
}

/// Every `(expression, expected)` must evaluate to `expected`.
fn check(cases: &[(&str, Value)]) {
    let mut wrong = Vec::new();
    for (expression, expected) in cases {
        match eval(expression) {
            Ok(actual) if &actual == expected => {}
            other => wrong.push(format!("{expression}: want {expected}, got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every expression must fail to evaluate.
fn check_errors(expressions: &[&str]) {
    let unexpected: Vec<String> = expressions
        .iter()
        .filter_map(|e| eval(e).ok().map(|v| format!("{e}: want an error, got {v}")))
        .collect();
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

#[test]
fn strings() {
    check(&[
        ("'hello'.charAt(1)", json!("e")),
        ("'hello mellow'.indexOf('ello')", json!(1)),
        ("'hello mellow'.lastIndexOf('ello')", json!(7)),
        ("'TacoCat'.lowerAscii()", json!("tacocat")),
        ("'TacoCat'.upperAscii()", json!("TACOCAT")),
        ("'hello hello'.replace('he', 'we')", json!("wello wello")),
        ("'hello hello'.replace('he', 'we', 1)", json!("wello hello")),
        ("'a,b,c'.split(',')", json!(["a", "b", "c"])),
        ("'tacocat'.substring(4)", json!("cat")),
        ("'tacocat'.substring(0, 4)", json!("taco")),
        ("'  \\ttrim\\n '.trim()", json!("trim")),
        ("['a', 'b'].join('-')", json!("a-b")),
        ("'gums'.reverse()", json!("smug")),
        ("strings.quote('a\"b')", json!("\"a\\\"b\"")),
        ("'%s is %d'.format(['x', 2])", json!("x is 2")),
        (
            "'abc'.startsWith('ab') && 'abc'.endsWith('bc') && 'abc'.contains('b')",
            json!(true),
        ),
        // Code points, not bytes (kubernetes_fixes).
        ("size('héllo')", json!(5)),
        ("'héllo'.size()", json!(5)),
        ("size(b'h\\xc3\\xa9')", json!(3)),
        ("size([1, 2]) + size({'a': 1})", json!(3)),
    ]);
    check_errors(&["'hello'.substring(3, 1)", "'abc'.charAt(10)"]);
}

#[test]
fn lists_and_sets() {
    check(&[
        ("[1, 2, 3].isSorted()", json!(true)),
        ("['b', 'a'].isSorted()", json!(false)),
        ("[1, 2, 3].sum()", json!(6)),
        ("[3, 1, 2].min()", json!(1)),
        ("[3, 1, 2].max()", json!(3)),
        ("[1, 2, 2, 3].indexOf(2)", json!(1)),
        ("[1, 2, 2, 3].lastIndexOf(2)", json!(2)),
        ("[1, 2, 3].indexOf(9)", json!(-1)),
        ("sets.contains([1, 2, 3], [2, 3])", json!(true)),
        ("sets.contains([1, 2], [3])", json!(false)),
        ("sets.equivalent([1, 2, 2], [2, 1])", json!(true)),
        ("sets.intersects([1, 2], [2, 5])", json!(true)),
        ("sets.intersects([1], [5])", json!(false)),
        ("lists.range(3)", json!([0, 1, 2])),
    ]);
    check_errors(&["[].min()", "['a', 1].sum()"]);
}

#[test]
fn regex() {
    check(&[
        ("'abc123'.matches('^[a-z]+[0-9]+$')", json!(true)),
        ("'abc 123'.find('[0-9]+')", json!("123")),
        ("'abc'.find('[0-9]+')", json!("")),
        ("'a1 b22 c333'.findAll('[0-9]+')", json!(["1", "22", "333"])),
        ("'a1 b22 c333'.findAll('[0-9]+', 2)", json!(["1", "22"])),
    ]);
    check_errors(&["'x'.matches('(')"]);
}

#[test]
fn urls() {
    check(&[
        (
            "isURL('https://example.com:8443/a%20b?x=1&x=2')",
            json!(true),
        ),
        ("isURL('not a url')", json!(false)),
        (
            "url('https://example.com:8443/path').getScheme()",
            json!("https"),
        ),
        (
            "url('https://example.com:8443/path').getHost()",
            json!("example.com:8443"),
        ),
        (
            "url('https://example.com:8443/path').getHostname()",
            json!("example.com"),
        ),
        (
            "url('https://example.com:8443/path').getPort()",
            json!("8443"),
        ),
        (
            "url('https://example.com/a%20b').getEscapedPath()",
            json!("/a%20b"),
        ),
        (
            "url('https://example.com/?x=1&x=2&y=3').getQuery()",
            json!({"x": ["1", "2"], "y": ["3"]}),
        ),
        ("url('https://[::1]:80/').getHostname()", json!("::1")),
    ]);
    check_errors(&["url('not a url')"]);
}

#[test]
fn ip_and_cidr() {
    check(&[
        ("isIP('10.0.0.1')", json!(true)),
        ("isIP('10.0.0.256')", json!(false)),
        ("ip('10.0.0.1').family()", json!(4)),
        ("ip('fe80::1').family()", json!(6)),
        ("ip.isCanonical('2001:db8::1')", json!(true)),
        ("ip.isCanonical('2001:DB8::1')", json!(false)),
        ("ip('127.0.0.1').isLoopback()", json!(true)),
        ("ip('0.0.0.0').isUnspecified()", json!(true)),
        ("ip('ff02::1').isLinkLocalMulticast()", json!(true)),
        ("ip('169.254.1.1').isLinkLocalUnicast()", json!(true)),
        ("ip('8.8.8.8').isGlobalUnicast()", json!(true)),
        ("isCIDR('10.0.0.0/8')", json!(true)),
        ("isCIDR('10.0.0.0/33')", json!(false)),
        ("cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", json!(true)),
        ("cidr('10.0.0.0/8').containsIP('11.0.0.1')", json!(false)),
        (
            "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')",
            json!(true),
        ),
        ("cidr('10.0.0.0/8').prefixLength()", json!(8)),
        ("string(cidr('10.1.2.3/8').masked())", json!("10.0.0.0/8")),
        ("string(cidr('10.0.0.0/8').ip())", json!("10.0.0.0")),
    ]);
    check_errors(&["ip('nope')", "cidr('10.0.0.0')"]);
}

#[test]
fn quantities() {
    check(&[
        ("isQuantity('1.5Gi')", json!(true)),
        ("isQuantity('1.5 Gi')", json!(false)),
        ("quantity('1Gi').compareTo(quantity('1024Mi'))", json!(0)),
        ("quantity('500m').isLessThan(quantity('1'))", json!(true)),
        (
            "quantity('2').isGreaterThan(quantity('1500m'))",
            json!(true),
        ),
        (
            "quantity('1').add(quantity('500m')) == quantity('1500m')",
            json!(true),
        ),
        ("quantity('1').add(2) == quantity('3')", json!(true)),
        (
            "quantity('1').sub(quantity('500m')) == quantity('500m')",
            json!(true),
        ),
        ("quantity('1k').asInteger()", json!(1000)),
        ("quantity('1.5').isInteger()", json!(false)),
        ("quantity('1.5').asApproximateFloat()", json!(1.5)),
        ("quantity('-1').sign()", json!(-1)),
    ]);
    check_errors(&["quantity('bogus')", "quantity('1.5').asInteger()"]);
}

#[test]
fn semver() {
    check(&[
        ("isSemver('1.2.3')", json!(true)),
        ("isSemver('1.2')", json!(false)),
        ("semver('1.2.3').major()", json!(1)),
        ("semver('1.2.3').minor()", json!(2)),
        ("semver('1.2.3').patch()", json!(3)),
        ("semver('1.2.3').compareTo(semver('1.10.0'))", json!(-1)),
        (
            "semver('2.0.0').isGreaterThan(semver('1.9.9'))",
            json!(true),
        ),
        (
            "semver('1.0.0-alpha').isLessThan(semver('1.0.0'))",
            json!(true),
        ),
    ]);
    check_errors(&["semver('one')"]);
}

#[test]
fn format_library() {
    check(&[
        (
            "format.dns1123Label().validate('my-name').hasValue()",
            json!(false),
        ),
        (
            "format.dns1123Label().validate('My_Name').hasValue()",
            json!(true),
        ),
        (
            "format.named('dns1123Subdomain').value().validate('a.b.c').hasValue()",
            json!(false),
        ),
        (
            "format.labelValue().validate('ok-value').hasValue()",
            json!(false),
        ),
        (
            "format.uuid().validate('not-a-uuid').hasValue()",
            json!(true),
        ),
        ("format.named('no-such-format').hasValue()", json!(false)),
    ]);
}

#[test]
fn encoders_and_math() {
    check(&[
        ("string(base64.decode('aGVsbG8='))", json!("hello")),
        ("base64.encode(b'hello')", json!("aGVsbG8=")),
        ("math.greatest(1, 5, 3)", json!(5)),
        ("math.least([4, 2, 8])", json!(2)),
        ("math.abs(-4)", json!(4)),
        ("math.ceil(1.2)", json!(2.0)),
        ("math.floor(1.8)", json!(1.0)),
        ("math.round(1.5)", json!(2.0)),
    ]);
    check_errors(&["base64.decode('%%%')"]);
}

#[test]
fn macros_conversions_and_json_numbers() {
    check(&[
        (
            "has(object.spec.replicas) && !has(object.spec.missing)",
            json!(true),
        ),
        ("[1, 2, 3].all(x, x > 0)", json!(true)),
        ("[1, 2, 3].exists(x, x > 2)", json!(true)),
        ("[1, 2, 3].exists_one(x, x > 1)", json!(false)),
        ("[1, 2, 3].map(x, x * 2)", json!([2, 4, 6])),
        ("[1, 2, 3].map(x, x > 1, x * 10)", json!([20, 30])),
        ("[1, 2, 3].filter(x, x != 2)", json!([1, 3])),
        ("{'a': 1}.all(k, k == 'a')", json!(true)),
        ("object.spec.replicas == 3", json!(true)),
        ("object.spec.ratio == 0.5", json!(true)),
        ("dyn(object.spec.replicas) + 1", json!(4)),
        ("int('42')", json!(42)),
        ("double('1.5')", json!(1.5)),
        ("duration('1h30m') == duration('90m')", json!(true)),
        (
            "timestamp('2024-01-01T00:00:00Z') < timestamp('2024-06-01T00:00:00Z')",
            json!(true),
        ),
    ]);
    check_errors(&["object.spec.missing == 1", "int('x')"]);
}

#[test]
fn optionals_as_kubernetes_enables_them() {
    check(&[
        (
            "object.metadata.?labels[?'app'].orValue('none')",
            json!("web"),
        ),
        (
            "object.metadata.?annotations[?'x'].orValue('none')",
            json!("none"),
        ),
        ("object.spec.?replicas.hasValue()", json!(true)),
        ("object.spec.?missing.hasValue()", json!(false)),
        ("optional.of(1).orValue(2)", json!(1)),
        ("optional.none().orValue(2)", json!(2)),
        ("optional.none().or(optional.of(3)).value()", json!(3)),
        // cel-go returns a non-optional receiver of orValue/or unchanged.
        ("object.metadata.labels.orValue({}).app", json!("web")),
        // A presence test on null is none, not an error.
        ("null.?field.orValue('d')", json!("d")),
        ("dyn(null)[?'k'].hasValue()", json!(false)),
        ("object.spec.?missing.nested.orValue(7)", json!(7)),
        ("[1, 2][?5].orValue(0)", json!(0)),
    ]);
}

#[test]
fn kyverno_libraries() {
    check(&[
        ("image('nginx').registry()", json!("index.docker.io")),
        ("image('nginx').repository()", json!("library/nginx")),
        ("image('nginx').tag()", json!("latest")),
        ("image('ghcr.io/org/app:1.2').identifier()", json!("1.2")),
        ("image('ghcr.io/org/app@sha256:abc').digest()", json!("sha256:abc")),
        ("image('ghcr.io/org/app@sha256:abc').containsDigest()", json!(true)),
        ("isImage('ghcr.io/org/app:1.2') && !isImage('Bad Image')", json!(true)),
        ("parseServiceAccount('system:serviceaccount:ns:sa').Namespace", json!("ns")),
        ("parseServiceAccount('alice').Name", json!("")),
        ("time.now() > timestamp('2020-01-01T00:00:00Z')", json!(true)),
        ("time.truncate(timestamp('2024-01-01T10:35:00Z'), duration('1h')) == timestamp('2024-01-01T10:00:00Z')", json!(true)),
        ("time.toCron(timestamp('2024-03-05T10:35:00Z'))", json!("35 10 5 3 2")),
        ("resource.Get('v1', 'configmaps', 'ns', 'missing') == null", json!(true)),
    ]);
    check_errors(&[
        "resource.List('v1', 'configmaps', 'ns')",
        "image.GetMetadata('nginx')",
        "resource.Post('v1', 'subjectaccessreviews', {})",
    ]);
}
