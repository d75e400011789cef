//! specline-specdoc
