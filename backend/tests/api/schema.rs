/// `schema.graphql` is the API contract: it must be exactly what the server
/// serves. Regenerate with `cargo run -p bookstore -- export-schema > schema.graphql`.
#[test]
fn schema_file_matches_the_served_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let served = bookstore::graphql::sdl();
    assert!(
        committed == served,
        "schema.graphql differs from the served schema; run \
         `cargo run -p bookstore -- export-schema > schema.graphql` and commit it"
    );
}
