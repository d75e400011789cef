//! Test names → specification sentences, without a model.
//!
//! Test names come in two shapes. *Phrases* (`it("rejects expired passwords")`, RSpec, Kotlin
//! backtick names) were written for humans: we only drop the `it`/`should`/`test` scaffolding,
//! conjugate a leading verb ("should reject" → "Rejects") and capitalise. *Identifiers*
//! (`TestLogin_ExpiredPassword`, `test_login_expired_password`, `shouldRejectExpiredPassword`,
//! `withdraw_insufficientFunds_throwsException`) are split into words (camelCase, snake_case,
//! acronyms, long numbers) and, where underscores separate camelCase parts, read as
//! subject / condition / outcome segments, the way Go and xUnit conventions use them.
//!
//! The rules are deliberately conservative: when a name does not fit a pattern the words are
//! kept in their order, because a faithful plain phrase is more useful than a wrong guess.

use crate::input::{clean_text, MAX_NAME_CHARS};

/// Base-form verbs that test names start with. A leading one is conjugated ("create user" →
/// "Creates user"). Words that are as often nouns (order, record, time, …) are left out on
/// purpose: "test_order_total" must not become "Orders total".
const BASE_VERBS: &[&str] = &[
    "accept",
    "add",
    "allow",
    "apply",
    "assign",
    "authenticate",
    "authorize",
    "block",
    "build",
    "calculate",
    "call",
    "cancel",
    "change",
    "check",
    "clean",
    "clear",
    "close",
    "collect",
    "compare",
    "compile",
    "compute",
    "configure",
    "connect",
    "contain",
    "convert",
    "copy",
    "create",
    "decode",
    "delete",
    "deny",
    "deserialize",
    "detect",
    "disable",
    "display",
    "do",
    "emit",
    "enable",
    "encode",
    "ensure",
    "escape",
    "evaluate",
    "exclude",
    "execute",
    "expire",
    "export",
    "expose",
    "extract",
    "fail",
    "fetch",
    "filter",
    "find",
    "finish",
    "flush",
    "format",
    "forward",
    "generate",
    "get",
    "give",
    "go",
    "handle",
    "have",
    "hide",
    "ignore",
    "include",
    "increment",
    "initialize",
    "insert",
    "install",
    "invalidate",
    "invoke",
    "keep",
    "list",
    "load",
    "lock",
    "make",
    "mark",
    "match",
    "merge",
    "migrate",
    "move",
    "normalize",
    "notify",
    "open",
    "paginate",
    "parse",
    "pass",
    "pause",
    "persist",
    "prefer",
    "prepare",
    "preserve",
    "prevent",
    "print",
    "process",
    "produce",
    "propagate",
    "publish",
    "push",
    "put",
    "raise",
    "read",
    "receive",
    "redirect",
    "refresh",
    "register",
    "reject",
    "reload",
    "remove",
    "rename",
    "render",
    "replace",
    "reset",
    "resolve",
    "respond",
    "restart",
    "restore",
    "resume",
    "retain",
    "retry",
    "return",
    "reuse",
    "revoke",
    "run",
    "save",
    "schedule",
    "select",
    "send",
    "serialize",
    "serve",
    "set",
    "show",
    "skip",
    "sort",
    "split",
    "start",
    "stop",
    "store",
    "strip",
    "submit",
    "subscribe",
    "succeed",
    "support",
    "suspend",
    "take",
    "terminate",
    "throw",
    "toggle",
    "track",
    "transform",
    "translate",
    "trigger",
    "trim",
    "truncate",
    "unlock",
    "unsubscribe",
    "update",
    "upload",
    "use",
    "validate",
    "verify",
    "wait",
    "warn",
    "work",
    "wrap",
    "write",
    "yield",
];

/// Words that can open a sentence as its verb without conjugation.
const OPENERS: &[&str] = &[
    "is",
    "are",
    "has",
    "does",
    "can",
    "cannot",
    "will",
    "must",
    "may",
    "never",
    "always",
    "only",
    "still",
    "correctly",
    "properly",
    "successfully",
    "gracefully",
];

/// Words that open a condition clause ("when missing", "with an expired password").
const CONDITIONS: &[&str] = &[
    "when", "if", "with", "without", "given", "for", "on", "after", "before", "during", "while",
    "unless", "once", "until", "in",
];

fn is_base_verb(w: &str) -> bool {
    BASE_VERBS
        .binary_search(&w.to_ascii_lowercase().as_str())
        .is_ok()
}

/// True for a third-person verb or a sentence-opening auxiliary ("returns", "is", "never").
fn is_verb3(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    if OPENERS.contains(&w.as_str()) {
        return true;
    }
    verb3_set().contains(w.as_str())
}

/// Third-person forms of [`BASE_VERBS`], built once: this runs for every word of every test.
fn verb3_set() -> &'static std::collections::HashSet<String> {
    static SET: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| BASE_VERBS.iter().map(|b| conjugate(b)).collect())
}

/// True for a suite name that states a condition ("when the cart is empty", "with an admin").
pub fn reads_as_condition(name: &str) -> bool {
    let t = name.trim();
    t.contains(' ') && t.split_whitespace().next().is_some_and(is_condition)
}

fn is_condition(w: &str) -> bool {
    CONDITIONS.contains(&w.to_ascii_lowercase().as_str())
}

/// Third person singular of a base verb: reject → rejects, pass → passes, deny → denies.
pub fn conjugate(base: &str) -> String {
    let lower = base.to_ascii_lowercase();
    match lower.as_str() {
        "be" => return "is".into(),
        "have" => return "has".into(),
        "do" => return "does".into(),
        "go" => return "goes".into(),
        "can" | "must" | "may" | "will" => return lower,
        _ => {}
    }
    let b = base.as_bytes();
    let n = b.len();
    if n >= 2 && b[n - 1] == b'y' && !matches!(b[n - 2], b'a' | b'e' | b'i' | b'o' | b'u') {
        return format!("{}ies", &base[..n - 1]);
    }
    if ["s", "sh", "ch", "x", "z", "o"]
        .iter()
        .any(|suf| lower.ends_with(suf))
    {
        return format!("{base}es");
    }
    format!("{base}s")
}

/// Splits an identifier part into words: camelCase, PascalCase, acronyms (`HTTPServer` →
/// `HTTP Server`), and numbers of three or more digits (`Returns404` → `Returns 404`; `Utf8`
/// and `OAuth2` stay whole).
pub fn split_identifier(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in s.split(|c: char| c == '_' || c == '-' || c == '.' || c.is_whitespace()) {
        let chars: Vec<char> = chunk.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) => {
                    (p.is_lowercase() && c.is_uppercase())
                        || (p.is_uppercase()
                            && c.is_uppercase()
                            && next.is_some_and(|n| n.is_lowercase())
                            && !plural_acronym(&chars[i..]))
                        || (p.is_ascii_digit() && c.is_uppercase())
                        || (p.is_alphabetic() && c.is_ascii_digit() && digit_run(&chars[i..]) >= 3)
                        || (p.is_ascii_digit()
                            && c.is_alphabetic()
                            && digit_run_back(&chars[..i]) >= 3)
                }
            };
            if boundary && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            words.push(cur);
        }
    }
    words
}

/// `Ds` in `UUIDs`: an acronym's plural `s`, not the start of a new word.
fn plural_acronym(rest: &[char]) -> bool {
    rest.get(1) == Some(&'s') && !rest.get(2).is_some_and(|c| c.is_lowercase())
}

fn digit_run(chars: &[char]) -> usize {
    chars.iter().take_while(|c| c.is_ascii_digit()).count()
}
fn digit_run_back(chars: &[char]) -> usize {
    chars
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// Lower-cases a word unless it is an acronym (`HTTP`, `ID`, `API2`).
fn normalize_word(w: &str) -> String {
    let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
    // `UUIDs` is an acronym in the plural.
    let stem = match letters.split_last() {
        Some((&'s', rest)) if rest.len() >= 2 => rest,
        _ => &letters[..],
    };
    if stem.len() >= 2 && stem.iter().all(|c| c.is_uppercase()) {
        w.to_string()
    } else {
        w.to_lowercase()
    }
}

/// Upper-cases the first character.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Lower-cases the first character unless the first word is an acronym.
fn decapitalize(s: &str) -> String {
    let first_word = s.split_whitespace().next().unwrap_or("");
    if normalize_word(first_word) == first_word
        && first_word.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && first_word.chars().any(|c| c.is_uppercase())
    {
        return s.to_string();
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Drops test scaffolding at the front of a word list and conjugates what follows:
/// `it`, `test`, `that`, `should [not] X` → `Xs` / `does not X`, a leading base verb → its
/// third person. Also rewrites the first `should` later in the phrase ("user should be
/// created" → "user is created").
fn verbalize(mut words: Vec<String>) -> Vec<String> {
    // Leading scaffolding, in any order: "it should", "test that", "verify that".
    while let Some(first) = words.first().map(|w| w.to_ascii_lowercase()) {
        let scaffold = matches!(
            first.as_str(),
            "it" | "test" | "tests" | "that" | "spec" | "example" | "scenario"
        ) && words.len() > 1;
        let verify_that = matches!(
            first.as_str(),
            "verify" | "verifies" | "ensure" | "ensures" | "check" | "checks"
        ) && words.get(1).is_some_and(|w| w.eq_ignore_ascii_case("that"))
            && words.len() > 2;
        if verify_that {
            words.drain(..2);
        } else if scaffold {
            words.remove(0);
        } else {
            break;
        }
    }
    if let Some(pos) = words.iter().position(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "should" | "must" | "shouldn't" | "shouldnt"
        )
    }) {
        if pos + 1 < words.len() {
            let negated_contraction = matches!(
                words[pos].to_ascii_lowercase().as_str(),
                "shouldn't" | "shouldnt"
            );
            let negated = negated_contraction || words[pos + 1].eq_ignore_ascii_case("not");
            let verb_at = if negated && !negated_contraction {
                pos + 2
            } else {
                pos + 1
            };
            if negated {
                match words
                    .get(verb_at)
                    .map(|w| w.to_ascii_lowercase())
                    .as_deref()
                {
                    Some("be") => {
                        words.splice(pos..=verb_at, ["is".to_string(), "not".to_string()]);
                    }
                    Some(_) => {
                        words.splice(pos..verb_at, ["does".to_string(), "not".to_string()]);
                    }
                    None => {}
                }
            } else {
                let conj = conjugate(&words[verb_at]);
                words.splice(pos..=verb_at, [conj]);
            }
            return words;
        }
    }
    // A leading base verb, unless a verb follows later (then the first word belongs to the
    // subject: "parse empty input is error", "list users returns all").
    if let Some(first) = words.first() {
        let later_verb = words.iter().skip(1).any(|w| is_verb3(w));
        if is_base_verb(first) && !later_verb && !is_verb3(first) {
            let conj = conjugate(first);
            words[0] = conj;
        }
    }
    words
}

fn join(words: &[String]) -> String {
    words.join(" ")
}

/// The sentence for one test name. `suites` is the suite path below the feature's own suite:
/// its innermost entry, when it reads as a condition ("when the password is expired"), is
/// appended to the sentence.
pub fn sentence(name: &str, suites: &[String]) -> String {
    let cleaned = clean_text(name, MAX_NAME_CHARS);
    let mut s = if cleaned.contains(' ') {
        phrase_sentence(&cleaned)
    } else {
        identifier_sentence(&cleaned)
    };
    if s.is_empty() {
        s = if cleaned.is_empty() {
            "Unnamed test".to_string()
        } else {
            capitalize(&cleaned)
        };
    }
    if let Some(ctx) = suites.last() {
        let ctx = clean_text(ctx, MAX_NAME_CHARS);
        let first = ctx.split_whitespace().next().unwrap_or("");
        let lower = s.to_lowercase();
        let has_clause = lower.contains(" when ") || lower.contains(" if ");
        // `with "max-age"` adds nothing to "Ignores invalid max-age".
        let content: Vec<String> = ctx
            .split_whitespace()
            .skip(1)
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|w| {
                w.chars().count() >= 3
                    && !matches!(w.as_str(), "the" | "and" | "option" | "options")
            })
            .collect();
        let says_nothing_new =
            !content.is_empty() && content.iter().all(|w| lower.contains(w.as_str()));
        if ctx.contains(' ') && is_condition(first) && !has_clause && !says_nothing_new {
            s = format!("{s} {}", decapitalize(&ctx));
        }
    }
    let s = s.trim_end_matches(['.', ' ']).to_string();
    clean_text(&s, MAX_NAME_CHARS)
}

/// Phrases that introduce what a test documents ("Checks that …"), dropped from the front of
/// a documentation sentence; longest first.
const DOC_OPENERS: &[&str] = &[
    "this test makes sure that",
    "this test verifies that",
    "this test ensures that",
    "this test checks that",
    "this test asserts that",
    "makes sure that",
    "make sure that",
    "verifies that",
    "ensures that",
    "checks that",
    "asserts that",
    "verify that",
    "ensure that",
    "check that",
    "assert that",
    "tests that",
    "test that",
    "makes sure",
    "make sure",
];

/// The sentence a test's documentation (its docstring or leading comment) gives: the first
/// sentence of its first paragraph, without the test's own name in front (Go's
/// `// TestLogin checks …`) or a "checks that" opener, with `should` conjugated. `None` when
/// that does not read as a sentence — one word, or code (a commented-out statement): the
/// name is used then.
pub fn doc_sentence(doc: &str, test_name: &str) -> Option<String> {
    let paragraph = doc.split("\n\n").find(|p| !p.trim().is_empty())?;
    let joined = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = first_sentence(&joined);
    let mut words: Vec<String> = first.split_whitespace().map(str::to_string).collect();
    let name = test_name.trim();
    if words
        .first()
        .is_some_and(|w| !name.is_empty() && w.trim_end_matches([':', ',']) == name)
    {
        words.remove(0);
    }
    let mut text = words.join(" ");
    let lower = text.to_lowercase();
    if let Some(opener) = DOC_OPENERS
        .iter()
        .find(|o| lower.starts_with(*o) && lower[o.len()..].starts_with(' '))
    {
        text = text[opener.len()..].trim_start().to_string();
    }
    let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    // "Tests the login flow" keeps its verb: only `it`/`should` scaffolding is rewritten.
    let scaffold_first = words.first().is_some_and(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "test" | "tests" | "spec" | "example" | "scenario" | "that"
        )
    });
    let words = if scaffold_first {
        words
    } else {
        verbalize(words)
    };
    let text = capitalize(&join(&words));
    let text = text.trim_end_matches(['.', '!', ' ', ':', ';', ',']);
    reads_as_prose(text).then(|| clean_text(text, MAX_NAME_CHARS))
}

/// Up to the first `.`, `!` or `?` that ends a sentence (followed by a space and a capital or
/// by the end), so that "e.g. a cart" and "v1.2" stay whole.
fn first_sentence(text: &str) -> &str {
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?') {
            let rest = &text[i + 1..];
            let ends = rest.is_empty()
                || (rest.starts_with(' ')
                    && rest[1..].starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit()));
            if ends {
                return &text[..=i];
            }
        }
    }
    text
}

/// At least two words, and mostly words: a commented-out statement (`expect(x).toBe(1);`) or
/// a table is not a sentence.
fn reads_as_prose(text: &str) -> bool {
    if text.split_whitespace().count() < 2 {
        return false;
    }
    if ["{", "}", ";", "=>", "==", "!=", "&&", "||", "</", "/>"]
        .iter()
        .any(|c| text.contains(c))
    {
        return false;
    }
    let total = text.chars().count();
    let wordy = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .count();
    wordy * 5 >= total * 4
}

/// A name written for humans: keep it, minus scaffolding, with a conjugated leading verb.
fn phrase_sentence(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .map(|w| replace_placeholder(w).unwrap_or_else(|| w.to_string()))
        .collect();
    // "given …, when …, then …" is already a sentence.
    let words = verbalize(condition_last(words));
    capitalize(&join(&words))
}

/// "with valid data creates a user" → "creates a user with valid data": a leading condition
/// moves behind the verb that follows it. Only when the verb is unambiguous: no auxiliary
/// before it ("when the list is empty returns nothing" stays), no `then`, no commas.
fn condition_last(mut words: Vec<String>) -> Vec<String> {
    let starts_with_condition = words.first().is_some_and(|w| is_condition(w));
    let structured = words
        .iter()
        .any(|w| w.eq_ignore_ascii_case("then") || w.ends_with(','));
    if !starts_with_condition || structured {
        return words;
    }
    let is_aux = |w: &str| OPENERS.contains(&w.to_ascii_lowercase().as_str());
    let Some(k) = words
        .iter()
        .skip(2)
        .position(|w| is_verb3(w))
        .map(|k| k + 2)
    else {
        return words;
    };
    if words[..=k].iter().any(|w| is_aux(w)) {
        return words;
    }
    words[0] = words[0].to_lowercase();
    words.rotate_left(k);
    words
}

/// True for a parameter placeholder of a table-driven test name: `%s`, `%d`, `%#`, `$name`,
/// `${a.b}`, `{0}`, `<value>`.
fn is_placeholder(core: &str) -> bool {
    let b = core.as_bytes();
    match b.first() {
        Some(b'%') => b.len() == 2 && b"sdifjopc#".contains(&b[1]),
        Some(b'$') => {
            core.len() > 1
                && (core[1..].starts_with('{') && core.ends_with('}')
                    || (b[1].is_ascii_alphabetic()
                        && core[1..]
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')))
        }
        Some(b'{') | Some(b'<') => {
            let close = if b[0] == b'{' { b'}' } else { b'>' };
            b.len() > 2
                && b[b.len() - 1] == close
                && b[1..b.len() - 1]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.' || *c == b'-')
        }
        _ => false,
    }
}

/// A word that is a placeholder (possibly with trailing punctuation) becomes `…`.
fn replace_placeholder(word: &str) -> Option<String> {
    let core = word.trim_end_matches([',', ';', ':', '.', ')']);
    let tail = &word[core.len()..];
    let core_open = core.trim_start_matches('(');
    let head = &core[..core.len() - core_open.len()];
    is_placeholder(core_open).then(|| format!("{head}…{tail}"))
}

/// True when a name holds a parameter placeholder (then it already says it varies).
pub fn has_placeholder(name: &str) -> bool {
    name.split_whitespace()
        .any(|w| replace_placeholder(w).is_some())
}

/// A name written for a compiler.
fn identifier_sentence(name: &str) -> String {
    // Parameters: `test_add[1-2-3]`, `adds(1, 2)`.
    let (core, params) = match name.find(['[', '(']) {
        Some(i) if i > 0 => (
            &name[..i],
            Some(name[i..].trim_matches(['[', ']', '(', ')'])),
        ),
        _ => (name, None),
    };
    // Go subtests as full names: `TestLogin/expired_password`.
    let (core, sub) = match core.rsplit_once('/') {
        Some((parent, child)) if !child.is_empty() => (parent, Some(child)),
        _ => (core, None),
    };
    let (kind, core) = strip_test_affixes(core);
    let mut s = if let Some(sub) = sub {
        let parent = plain_words(core);
        let child = identifier_sentence(sub);
        match (parent.is_empty(), child.is_empty()) {
            (true, _) => child,
            (_, true) => parent,
            _ => format!("{parent}: {}", decapitalize(&child)),
        }
    } else {
        segment_sentence(core)
    };
    if let Some(k) = kind {
        // A benchmark or example names a thing, not a behavior: no verb conjugation.
        s = format!("{k}: {}", decapitalize(&plain_words(core)));
    }
    match params {
        Some(p) if !p.is_empty() => format!("{s} ({p})"),
        _ => s,
    }
}

/// Removes `Test`/`test_`/`Test` suffix etc. Returns a label for Go's benchmark/example/fuzz
/// functions, which are not behaviors in the usual sense and are named as such.
fn strip_test_affixes(name: &str) -> (Option<&'static str>, &str) {
    for (prefix, label) in [
        ("Benchmark", "Benchmark"),
        ("Example", "Example"),
        ("Fuzz", "Fuzz"),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            if rest.starts_with(|c: char| c.is_uppercase() || c == '_') {
                return (Some(label), rest.trim_start_matches('_'));
            }
        }
    }
    let mut core = name;
    for prefix in ["test_", "Test_", "test", "Test"] {
        if let Some(rest) = core.strip_prefix(prefix) {
            let ok = prefix.ends_with('_')
                || rest.starts_with(|c: char| c.is_uppercase() || c == '_' || c.is_ascii_digit());
            if ok && !rest.is_empty() {
                core = rest.trim_start_matches('_');
                break;
            }
        }
    }
    for suffix in ["_test", "Test", "_spec", "Spec"] {
        if let Some(rest) = core.strip_suffix(suffix) {
            if !rest.is_empty() {
                core = rest;
                break;
            }
        }
    }
    (None, core)
}

/// Underscore-separated camelCase segments: `Login_ExpiredPassword`,
/// `withdraw_insufficientFunds_throwsException`, `shouldReturnUser_whenIdExists`. An
/// all-lowercase snake_case name is one segment of words instead.
fn segment_sentence(core: &str) -> String {
    let segments: Vec<&str> = core.split('_').filter(|s| !s.is_empty()).collect();
    let camel = segments.len() > 1 && segments.iter().any(|s| s.chars().any(|c| c.is_uppercase()));
    if !camel {
        return words_sentence(&split_identifier(core));
    }
    let phrases: Vec<Vec<String>> = segments
        .iter()
        .map(|s| {
            split_identifier(s)
                .iter()
                .map(|w| normalize_word(w))
                .collect()
        })
        .collect();
    // BDD: given/when/then segments read as clauses.
    if phrases
        .iter()
        .filter(|p| {
            p.first()
                .is_some_and(|w| matches!(w.as_str(), "given" | "when" | "then"))
        })
        .count()
        >= 2
    {
        let clauses: Vec<String> = phrases.iter().map(|p| join(p)).collect();
        return capitalize(&clauses.join(", "));
    }
    let phrases: Vec<Vec<String>> = phrases.into_iter().map(verbalize).collect();
    let starts_verb = |p: &Vec<String>| p.first().is_some_and(|w| is_verb3(w));
    let starts_cond = |p: &Vec<String>| p.first().is_some_and(|w| is_condition(w));
    if starts_verb(&phrases[0]) {
        let all: Vec<String> = phrases.iter().map(|p| join(p)).collect();
        return capitalize(&all.join(" "));
    }
    let subject = join(&phrases[0]);
    let rest = &phrases[1..];
    let outcomes: Vec<String> = rest
        .iter()
        .filter(|p| starts_verb(p))
        .map(|p| join(p))
        .collect();
    let conditions: Vec<String> = rest
        .iter()
        .filter(|p| starts_cond(p))
        .map(|p| join(p))
        .collect();
    let others: Vec<String> = rest
        .iter()
        .filter(|p| !starts_verb(p) && !starts_cond(p))
        .map(|p| join(p))
        .collect();
    let mut s = capitalize(&subject);
    if outcomes.is_empty() {
        if !others.is_empty() {
            s = format!("{s}: {}", others.join(", "));
        }
    } else {
        let out = outcomes.join(" and ");
        if others.is_empty() {
            s = format!("{s} {out}");
        } else {
            s = format!("{s}: {out} when {}", others.join(", "));
        }
    }
    for c in conditions {
        s = format!("{s} {c}");
    }
    s
}

/// Identifier words, normalised and capitalised, with no verb rules applied.
fn plain_words(core: &str) -> String {
    let words: Vec<String> = split_identifier(core)
        .iter()
        .map(|w| normalize_word(w))
        .collect();
    capitalize(&join(&words))
}

/// A plain list of identifier words.
fn words_sentence(words: &[String]) -> String {
    let words: Vec<String> = words.iter().map(|w| normalize_word(w)).collect();
    capitalize(&join(&verbalize(words)))
}

/// A readable name for a suite, file stem or directory: `LoginServiceTest` → "Login service",
/// `user-accounts` → "User accounts", `describe("POST /users")` → "POST /users".
pub fn title(name: &str) -> String {
    let cleaned = clean_text(name, MAX_NAME_CHARS);
    if cleaned.contains(' ') {
        return capitalize(&cleaned);
    }
    // A code reference (`cookie.parse`, `User#save`, `POST:/users`) is kept as written.
    if cleaned.contains(['.', '#', '(', '/', ':']) {
        return cleaned;
    }
    let (_, core) = strip_test_affixes(&cleaned);
    let core = core.trim_end_matches("Tests").trim_end_matches("_tests");
    let core = if core.is_empty() {
        cleaned.as_str()
    } else {
        core
    };
    let joined = plain_words(core);
    if joined.is_empty() {
        capitalize(&cleaned)
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_verbs_are_sorted_for_binary_search() {
        assert!(BASE_VERBS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn conjugates_regular_and_irregular_verbs() {
        assert_eq!(conjugate("reject"), "rejects");
        assert_eq!(conjugate("pass"), "passes");
        assert_eq!(conjugate("deny"), "denies");
        assert_eq!(conjugate("play"), "plays");
        assert_eq!(conjugate("be"), "is");
        assert_eq!(conjugate("fetch"), "fetches");
    }

    #[test]
    fn splits_identifiers_on_case_acronyms_and_long_numbers() {
        assert_eq!(
            split_identifier("HTTPServerReturns404"),
            ["HTTP", "Server", "Returns", "404"]
        );
        assert_eq!(split_identifier("parseUtf8"), ["parse", "Utf8"]);
        assert_eq!(
            split_identifier("Version7FromReader"),
            ["Version7", "From", "Reader"]
        );
        assert_eq!(split_identifier("Len32Truncated"), ["Len32", "Truncated"]);
        assert_eq!(split_identifier("UUIDsStrings"), ["UUIDs", "Strings"]);
        assert_eq!(split_identifier("parseURLs"), ["parse", "URLs"]);
        assert_eq!(normalize_word("UUIDs"), "UUIDs");
        assert_eq!(normalize_word("Ds"), "ds");
        assert_eq!(
            split_identifier("snake_case-kebab"),
            ["snake", "case", "kebab"]
        );
    }

    #[test]
    fn documentation_gives_its_first_sentence() {
        let cases = [
            (
                "When the cart is empty, checkout is refused.\nMore detail here.",
                "test_empty",
                Some("When the cart is empty, checkout is refused"),
            ),
            (
                "TestLogin_Expired checks that an expired password is refused. See #12.",
                "TestLogin_Expired",
                Some("An expired password is refused"),
            ),
            (
                "Should reject tokens signed with another key",
                "rejects_foreign",
                Some("Rejects tokens signed with another key"),
            ),
            (
                "Tests the login flow end to end",
                "test_flow",
                Some("Tests the login flow end to end"),
            ),
            (
                "Totals use e.g. the\ncart's currency v1.2 rules.\n\nSecond paragraph.",
                "t",
                Some("Totals use e.g. the cart's currency v1.2 rules"),
            ),
            ("expect(total).toBe(0);", "t", None),
            ("Regression", "t", None),
            ("TestX", "TestX", None),
            ("a = [1, 2, 3] => b == c", "t", None),
        ];
        for (doc, name, want) in cases {
            assert_eq!(doc_sentence(doc, name).as_deref(), want, "{doc:?}");
        }
    }
}
