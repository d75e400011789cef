//! specline-queue
