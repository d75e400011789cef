//! specline-inventory
