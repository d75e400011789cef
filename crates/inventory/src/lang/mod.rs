//! One module per language, each a [`LanguageDef`] with its frameworks. Languages are
//! independent of each other, so several people can work on them at once.

use crate::extract::{FilePassCtx, RawItem};
use crate::framework::LanguageDef;

pub mod cpp;
pub mod csharp;
pub mod go;
pub mod java;
pub mod javascript;
pub mod kotlin;
pub mod php;
pub mod python;
pub mod ruby;
pub mod rust;
pub mod rust_macros;
pub mod swift;

/// Every supported language. Extensions are unique across languages.
pub static LANGUAGES: &[LanguageDef] = &[
    javascript::JAVASCRIPT,
    javascript::TYPESCRIPT,
    python::PYTHON,
    go::GO,
    java::JAVA,
    kotlin::KOTLIN,
    csharp::CSHARP,
    ruby::RUBY,
    php::PHP,
    rust::RUST,
    swift::SWIFT,
    cpp::CPP,
];

/// A pass over a whole parsed file after its query ran, for what a query cannot find:
/// tests written by a macro defined elsewhere (Rust), test headers that the grammar's
/// error recovery swallowed (GoogleTest). Returns items to add.
pub type FilePass = fn(&FilePassCtx<'_>) -> Vec<RawItem>;

/// The file pass of a language, by its id (a table here rather than a field of every
/// [`LanguageDef`], so that languages without one say nothing about it).
pub fn file_pass(language: &str) -> Option<FilePass> {
    match language {
        "rust" => Some(rust::file_pass),
        "cpp" => Some(cpp::file_pass),
        _ => None,
    }
}
