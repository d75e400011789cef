//! Output languages as BCP-47 tags.
//!
//! Any *well-formed* tag (RFC 5646 syntax) is accepted and handed to the model provider; we do
//! not keep a registry of every subtag, because the model, not this crate, writes the sentences.
//! A malformed tag is rejected up front with `INVALID_LANGUAGE` so that a typo never becomes a
//! paid model call or a cache entry.

use serde::{Deserialize, Serialize};

/// A tag that is not well-formed BCP 47 (`INVALID_LANGUAGE`); holds at most 64 characters of
/// what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("INVALID_LANGUAGE: {0:?} is not a well-formed BCP-47 language tag")]
pub struct InvalidLanguage(pub String);

impl InvalidLanguage {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        "INVALID_LANGUAGE"
    }
}

/// A well-formed BCP-47 language tag in canonical case (`en`, `pt-BR`, `zh-Hant-TW`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Parses and canonicalises the case of a tag. Rejects empty, over-long and malformed tags.
    pub fn parse(tag: &str) -> Result<Self, InvalidLanguage> {
        canonical(tag)
            .map(Self)
            .ok_or_else(|| InvalidLanguage(tag.chars().take(64).collect()))
    }

    /// English, the offline generator's only language.
    pub fn english() -> Self {
        Self("en".to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language subtag (`pt` for `pt-BR`).
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// True when sentences in this language are English (so the offline generator's output is
    /// already in the requested language).
    pub fn is_english(&self) -> bool {
        self.primary() == "en"
    }

    /// A name for prompts: "Korean (ko)", or the bare tag for languages we have no name for
    /// (models know the tags).
    pub fn prompt_name(&self) -> String {
        match english_name(self.primary()) {
            Some(name) => format!("{name} ({})", self.0),
            None => format!("the language with BCP-47 tag {}", self.0),
        }
    }
}

impl TryFrom<String> for LanguageTag {
    type Error = InvalidLanguage;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LanguageTag> for String {
    fn from(value: LanguageTag) -> Self {
        value.0
    }
}

impl std::fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for LanguageTag {
    type Err = InvalidLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// English names of the languages the product promises (and a few more).
fn english_name(primary: &str) -> Option<&'static str> {
    Some(match primary {
        "en" => "English",
        "ko" => "Korean",
        "ja" => "Japanese",
        "zh" => "Chinese",
        "es" => "Spanish",
        "de" => "German",
        "fr" => "French",
        "pt" => "Portuguese",
        "it" => "Italian",
        "nl" => "Dutch",
        "ru" => "Russian",
        "pl" => "Polish",
        "tr" => "Turkish",
        "vi" => "Vietnamese",
        "id" => "Indonesian",
        "hi" => "Hindi",
        "ar" => "Arabic",
        "sv" => "Swedish",
        "uk" => "Ukrainian",
        _ => return None,
    })
}

fn is_alpha(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphabetic())
}
fn is_alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}
fn is_digit(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// RFC 5646 `langtag` / `privateuse` syntax, returning the tag in canonical case or `None`.
fn canonical(tag: &str) -> Option<String> {
    // The longest registered tags are well under 64 characters; a longer one is garbage.
    if tag.is_empty() || tag.len() > 64 || !tag.is_ascii() {
        return None;
    }
    let parts: Vec<&str> = tag.split(['-', '_']).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 8 || !is_alnum(p))
    {
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    let first = parts[0];
    if first.eq_ignore_ascii_case("x") {
        // A private-use-only tag such as `x-klingon`.
        return private_use(&parts, out).filter(|_| parts.len() > 1);
    }
    if !is_alpha(first) || first.len() == 4 || first.len() < 2 {
        return None;
    }
    out.push(first.to_ascii_lowercase());
    i += 1;
    // extlang: up to three 3-letter subtags after a 2–3 letter language.
    if first.len() <= 3 {
        let mut ext = 0;
        while i < parts.len() && ext < 3 && parts[i].len() == 3 && is_alpha(parts[i]) {
            out.push(parts[i].to_ascii_lowercase());
            i += 1;
            ext += 1;
        }
    }
    // script
    if i < parts.len() && parts[i].len() == 4 && is_alpha(parts[i]) {
        let s = parts[i].to_ascii_lowercase();
        let mut c = s.chars();
        let head = c.next().map(|h| h.to_ascii_uppercase()).unwrap_or('X');
        out.push(std::iter::once(head).chain(c).collect());
        i += 1;
    }
    // region
    if i < parts.len()
        && ((parts[i].len() == 2 && is_alpha(parts[i]))
            || (parts[i].len() == 3 && is_digit(parts[i])))
    {
        out.push(parts[i].to_ascii_uppercase());
        i += 1;
    }
    // variants
    while i < parts.len() {
        let p = parts[i];
        let variant = (5..=8).contains(&p.len())
            || (p.len() == 4 && p.as_bytes().first().is_some_and(|b| b.is_ascii_digit()));
        if !variant {
            break;
        }
        out.push(p.to_ascii_lowercase());
        i += 1;
    }
    // extensions: a singleton (not x) followed by one or more 2–8 char subtags.
    while i < parts.len() && parts[i].len() == 1 && !parts[i].eq_ignore_ascii_case("x") {
        out.push(parts[i].to_ascii_lowercase());
        i += 1;
        let start = i;
        while i < parts.len() && parts[i].len() >= 2 {
            out.push(parts[i].to_ascii_lowercase());
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i < parts.len() {
        return private_use(&parts[i..], out);
    }
    Some(out.join("-"))
}

/// `x-` followed by 1–8 character subtags, appended to `out`.
fn private_use(parts: &[&str], mut out: Vec<String>) -> Option<String> {
    let (head, rest) = parts.split_first()?;
    if !head.eq_ignore_ascii_case("x") || rest.is_empty() {
        return None;
    }
    out.push("x".to_string());
    out.extend(rest.iter().map(|p| p.to_ascii_lowercase()));
    Some(out.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_promised_languages_and_canonicalises_case() {
        for tag in ["en", "ko", "ja", "zh", "es", "de", "fr", "pt"] {
            assert_eq!(LanguageTag::parse(tag).unwrap().as_str(), tag);
        }
        assert_eq!(LanguageTag::parse("PT-br").unwrap().as_str(), "pt-BR");
        assert_eq!(
            LanguageTag::parse("zh-hant-tw").unwrap().as_str(),
            "zh-Hant-TW"
        );
        assert_eq!(LanguageTag::parse("es-419").unwrap().as_str(), "es-419");
        assert_eq!(LanguageTag::parse("en_US").unwrap().as_str(), "en-US");
        assert_eq!(
            LanguageTag::parse("de-CH-1996").unwrap().as_str(),
            "de-CH-1996"
        );
        assert_eq!(
            LanguageTag::parse("x-klingon").unwrap().as_str(),
            "x-klingon"
        );
        assert_eq!(
            LanguageTag::parse("en-a-bbb-x-a-ccc").unwrap().as_str(),
            "en-a-bbb-x-a-ccc"
        );
    }

    #[test]
    fn rejects_malformed_tags_with_a_code() {
        for bad in [
            "",
            "e",
            "english!",
            "en--US",
            "-en",
            "en-",
            "1234",
            "en-US-a",
            "x",
            "日本語",
            "toolonglanguage",
        ] {
            let err = LanguageTag::parse(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_LANGUAGE", "{bad:?}");
        }
        assert!(LanguageTag::parse(&"a".repeat(10_000)).is_err());
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<LanguageTag>("\"ko\"").is_ok());
        assert!(serde_json::from_str::<LanguageTag>("\"k o\"").is_err());
    }
}
