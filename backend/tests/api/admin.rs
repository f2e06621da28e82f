//! Staff inventory API tests (see graphql/admin.rs).
