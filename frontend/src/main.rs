fn main() {
    eprintln!(
        "bookstore-web: the storefront is not built yet; use the backend's GraphiQL at /graphql"
    );
    std::process::exit(2);
}
