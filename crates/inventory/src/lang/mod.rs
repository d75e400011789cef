//! One module per language, each a [`LanguageDef`] with its frameworks. Languages are
//! independent of each other, so several people can work on them at once.

use crate::framework::LanguageDef;

pub mod go;
pub mod javascript;
pub mod python;

/// Every supported language, in the order their definitions are tried for an extension.
pub static LANGUAGES: &[LanguageDef] = &[
    javascript::JAVASCRIPT,
    javascript::TYPESCRIPT,
    python::PYTHON,
    go::GO,
];
