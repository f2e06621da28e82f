//! Account tests.
