//! Specline's one error vocabulary.
//!
//! Every error a Specline crate returns has a stable `SCREAMING_SNAKE` code and one of four
//! classes that say what a job failing with it should do next ([`ErrorClass`]). Three
//! pieces, each in its own file:
//!
//! - [`ErrorCode`]: the trait an error implements (its code, its class, its message).
//!   `specline-queue` turns any `ErrorCode` into its `JobError` with one conversion, so a
//!   step writes `?` and no binary hand-writes the mapping.
//! - [`CodeSet`]: a crate's code enum, listing each of its codes once with its class and
//!   meaning; made with [`codes!`]. The table in `docs/error-codes.md` is generated from
//!   these lists (`specline errors`).
//! - [`check_codes`]: what every crate's test asserts about its list (unique,
//!   `SCREAMING_SNAKE`, a meaning).
//!
//! It is a crate of its own, without dependencies, because the libraries whose errors it
//! classes (the inventory, the spec documents, the settings) must not link the job engine.

mod class;
mod code;
mod set;

pub use class::{ClassRule, ErrorClass};
pub use code::ErrorCode;
pub use set::{check_codes, CodeInfo, CodeSet};
