//! Prompts, kept in `prompts/*.txt` so they can be read and reviewed as text.
//!
//! Each prompt has a declared version, bumped by hand when its meaning changes, and the
//! version string used everywhere (document metadata, every cache key) also carries a short
//! hash of the text: an edited prompt can never be served answers cached for the old one, even
//! if someone forgets to bump the number.

use sha2::{Digest, Sha256};

/// The classification prompt: tests → domains and features.
pub const CLASSIFY: Prompt = Prompt {
    name: "classify",
    declared: 1,
    text: include_str!("../prompts/classify.txt"),
};

/// The conversion prompt: one feature's test names → behavior sentences.
pub const CONVERT: Prompt = Prompt {
    name: "convert",
    declared: 1,
    text: include_str!("../prompts/convert.txt"),
};

/// The summary prompt: domains and features → executive summary.
pub const SUMMARIZE: Prompt = Prompt {
    name: "summarize",
    declared: 1,
    text: include_str!("../prompts/summarize.txt"),
};

/// A prompt template with `{placeholders}`.
#[derive(Debug, Clone, Copy)]
pub struct Prompt {
    pub name: &'static str,
    pub declared: u32,
    pub text: &'static str,
}

impl Prompt {
    /// `classify-v1-1a2b3c4d`: name, declared version, first 8 hex digits of the text's hash.
    pub fn version(&self) -> String {
        let hash = hex::encode(Sha256::digest(self.text.as_bytes()));
        format!("{}-v{}-{}", self.name, self.declared, &hash[..8])
    }

    /// The text with each `{key}` replaced by its value.
    pub fn render(&self, vars: &[(&str, &str)]) -> String {
        let mut out = self.text.to_string();
        for (k, v) in vars {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }
}

/// The version of all prompts together, recorded in each document.
pub fn combined_version() -> String {
    [CLASSIFY, CONVERT, SUMMARIZE]
        .iter()
        .map(Prompt::version)
        .collect::<Vec<_>>()
        .join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_the_prompt_and_hashes_its_text() {
        let v = CONVERT.version();
        assert!(v.starts_with("convert-v1-"), "{v}");
        assert_eq!(v.len(), "convert-v1-".len() + 8);
        let edited = Prompt {
            text: "something else",
            ..CONVERT
        };
        assert_ne!(edited.version(), v);
    }

    #[test]
    fn render_fills_placeholders() {
        let p = Prompt {
            name: "t",
            declared: 1,
            text: "write in {language} about {feature}",
        };
        assert_eq!(
            p.render(&[("language", "Korean (ko)"), ("feature", "Login")]),
            "write in Korean (ko) about Login"
        );
    }
}
