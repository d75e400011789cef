//! NUnit `[TestCase(…)]`, xUnit `[InlineData(…)]`, MSTest `[DataRow(…)]`: one case per
//! attribute, in every `#if` branch alike (conditions are not evaluated). A data source
//! computed at run time (`[TestCaseSource]`, `[MemberData]`, `[ClassData]`,
//! `[DynamicData]`, NUnit's `[Values]`/`[Range]`/`[Random]`/`[ValueSource]` on
//! parameters) makes the cases unknown.

use tree_sitter::Node;

use super::{elements, text, Param};

const CASE: &[&str] = &["TestCase", "InlineData", "DataRow"];
const RUNTIME: &[&str] = &[
    "TestCaseSource",
    "MemberData",
    "ClassData",
    "DynamicData",
    "Values",
    "Range",
    "Random",
    "ValueSource",
];

pub(super) fn of_item(node: Node<'_>, src: &[u8]) -> Option<Param> {
    if node.kind() != "method_declaration" {
        return None;
    }
    let mut cases: u64 = 0;
    let mut unknown = false;
    let mut visit = |name: &str| {
        let name = name.rsplit('.').next().unwrap_or_default();
        let name = name.strip_suffix("Attribute").unwrap_or(name);
        if CASE.contains(&name) {
            cases = cases.saturating_add(1);
        } else if RUNTIME.contains(&name) {
            unknown = true;
        }
    };
    for c in elements(node) {
        match c.kind() {
            "attribute_list" | "preproc_if_in_attribute_list" => attributes(c, src, &mut visit),
            "parameter_list" => {
                for p in elements(c) {
                    for a in elements(p).filter(|a| a.kind() == "attribute_list") {
                        attributes(a, src, &mut visit);
                    }
                }
            }
            _ => {}
        }
    }
    if unknown {
        return Some(Param::Unknown);
    }
    (cases > 0).then(|| Param::count(cases))
}

/// Calls `visit` with the name of every attribute in `list` (an attribute list, or an
/// `#if` around attribute lists, every branch).
fn attributes(list: Node<'_>, src: &[u8], visit: &mut impl FnMut(&str)) {
    let mut stack = vec![list];
    while let Some(n) = stack.pop() {
        for c in elements(n) {
            match c.kind() {
                "attribute" => {
                    if let Some(name) = c.child_by_field_name("name") {
                        visit(&text(name, src));
                    }
                }
                "attribute_list"
                | "preproc_if_in_attribute_list"
                | "preproc_else"
                | "preproc_elif" => stack.push(c),
                _ => {}
            }
        }
    }
}
