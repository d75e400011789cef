//! One module per language, each a [`LanguageDef`] with its frameworks. Languages are
//! independent of each other, so several people can work on them at once.

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
