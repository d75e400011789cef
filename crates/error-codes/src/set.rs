//! A crate's list of codes.

use crate::ClassRule;

/// One code as the table shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The crate that declares it (`specline-inventory`).
    pub krate: &'static str,
    pub code: &'static str,
    pub class: ClassRule,
    /// What it means, in a few words (one table cell).
    pub meaning: &'static str,
}

/// A crate's code enum: each of its codes once. Made with [`crate::codes!`].
pub trait CodeSet: Copy + 'static {
    /// The crate that declares the codes.
    const CRATE: &'static str;
    /// Every code, in declaration order.
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    fn rule(self) -> ClassRule;
    fn meaning(self) -> &'static str;

    /// The whole list, for the table.
    fn infos() -> Vec<CodeInfo> {
        Self::ALL
            .iter()
            .map(|c| CodeInfo {
                krate: Self::CRATE,
                code: c.as_str(),
                class: c.rule(),
                meaning: c.meaning(),
            })
            .collect()
    }
}

/// Declares a crate's code enum: a variant per code with its string, its [`ClassRule`] and
/// its meaning, the [`CodeSet`] impl over them, and an inherent `const fn as_str` (callable
/// without the trait, and in constants).
///
/// ```
/// specline_error_codes::codes! {
///     /// The example's codes.
///     pub enum ExampleCode in "example" {
///         Missing = ("MISSING", Permanent, "the thing is not there"),
///         Busy = ("BUSY", Retryable, "the thing is busy"),
///         Either = ("EITHER", Varies("retryable or permanent"), "it depends"),
///     }
/// }
/// use specline_error_codes::CodeSet;
/// assert_eq!(ExampleCode::Busy.as_str(), "BUSY");
/// assert_eq!(ExampleCode::ALL.len(), 3);
/// ```
#[macro_export]
macro_rules! codes {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident in $krate:literal {
            $( $variant:ident = ($code:literal, $rule:ident $(($how:literal))?, $meaning:literal) ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( #[doc = $meaning] $variant, )+
        }

        impl $name {
            /// The stable code string (a `const fn`, so constants can name it).
            #[allow(dead_code)]
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $code, )+ }
            }
        }

        impl $crate::CodeSet for $name {
            const CRATE: &'static str = $krate;
            const ALL: &'static [Self] = &[ $( $name::$variant ),+ ];
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn rule(self) -> $crate::ClassRule {
                match self { $( $name::$variant => $crate::ClassRule::$rule $(($how))?, )+ }
            }
            fn meaning(self) -> &'static str {
                match self { $( $name::$variant => $meaning, )+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::CodeSet::as_str(*self))
            }
        }
    };
}

/// What every crate's test asserts about its list: each code `SCREAMING_SNAKE` (an upper-case
/// letter first, then upper-case letters, digits and single underscores), none twice, each
/// with a meaning. Returns every problem found.
pub fn check_codes<C: CodeSet>() -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in C::ALL {
        let code = c.as_str();
        if !is_screaming_snake(code) {
            problems.push(format!("{}: `{code}` is not SCREAMING_SNAKE", C::CRATE));
        }
        if !seen.insert(code) {
            problems.push(format!("{}: `{code}` is listed twice", C::CRATE));
        }
        if c.meaning().trim().is_empty() {
            problems.push(format!("{}: `{code}` has no meaning", C::CRATE));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn is_screaming_snake(code: &str) -> bool {
    code.starts_with(|c: char| c.is_ascii_uppercase())
        && !code.ends_with('_')
        && !code.contains("__")
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
// The bad list has a blank meaning on purpose, which becomes a blank doc comment.
#[allow(clippy::empty_docs)]
mod tests {
    use super::*;

    crate::codes! {
        enum Good in "good" {
            A = ("ALPHA", Permanent, "a"),
            B = ("BETA_2", Varies("it depends"), "b"),
        }
    }

    crate::codes! {
        enum Bad in "bad" {
            A = ("ALPHA", Permanent, "a"),
            B = ("ALPHA", Retryable, "again"),
            C = ("lower_case", Retryable, "c"),
            D = ("TRAILING_", Retryable, " "),
        }
    }

    #[test]
    fn a_clean_list_passes() {
        assert_eq!(check_codes::<Good>(), Ok(()));
        assert_eq!(Good::B.rule(), ClassRule::Varies("it depends"));
        assert_eq!(Good::infos()[1].code, "BETA_2");
    }

    #[test]
    fn repeats_bad_spelling_and_missing_meanings_are_each_reported() {
        let problems = check_codes::<Bad>().unwrap_err();
        assert_eq!(
            problems,
            vec![
                "bad: `ALPHA` is listed twice".to_string(),
                "bad: `lower_case` is not SCREAMING_SNAKE".to_string(),
                "bad: `TRAILING_` is not SCREAMING_SNAKE".to_string(),
                "bad: `TRAILING_` has no meaning".to_string(),
            ]
        );
    }
}
